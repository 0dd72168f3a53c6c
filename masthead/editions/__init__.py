"""Per-issue digital editions (EPUB and PDF) and their gated downloads.

Depends on issues and newsroom (the content), access (who may download) and
core (the magazine's name). It registers the editions step of publishing an
issue with `issues.actions.register_step`. Only top-floor apps import it:
mailings (the download links in the new-issue email) and the demo loader,
which queues the builds of the issues it publishes.
"""
