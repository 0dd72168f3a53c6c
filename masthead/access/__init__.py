"""The one access decision (`access.decide`), teaser cutting, the ad decision,
search that matches only what a reader may read, and cache headers for gated
responses; and kept article pages, which let a signed-in reader's page be
served without routing or rendering.

Depends on newsroom (articles, their levels) and asks billing for
entitlements (`current_entitlement`); every app that shows gated content
depends on this one, never the other way round.
"""
