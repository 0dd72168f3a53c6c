"""How pages are served and cached: the page cache, single flight, warm-up,
the per-member path, invalidation, and routing (which page answers a path).
No models.

May import access and every app below it; none of them imports serving.
"""
