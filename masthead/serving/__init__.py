"""How pages are served and cached: the anonymous page cache in front of
Django, single flight for stale pages, warming a process up, routing (which page answers a path), the cached
article variants and the per-member path that answers signed-in readers
before Django, and invalidation (what makes cached copies stale). No models.

May import core, accounts, newsroom, issues, billing and access (serving
calls `access.decide`, never the other way round); no app below it imports
serving. Signals that serving needs from those apps are connected from
`ServingConfig.ready` (see `invalidation.py`).
"""
