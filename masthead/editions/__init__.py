"""Per-issue digital editions (EPUB and PDF) and their gated downloads.

Depends on issues and newsroom (the content), access (who may download) and
core (the magazine's name). Nothing depends on editions but issues.actions,
which builds them when an issue is published, and the demo loader, which
queues the builds of the issues it publishes.
"""
