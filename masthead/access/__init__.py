"""The one access decision (`access.decide`), teaser cutting, the ad decision,
search that matches only what a reader may read, and the Reader (what one
reader sees of an article). How pages are served and cached is serving's,
which calls this app; this app never imports serving.

Depends on newsroom (articles, their levels) and asks billing for
entitlements (`current_entitlement`); every app that shows gated content
depends on this one, never the other way round.
"""
