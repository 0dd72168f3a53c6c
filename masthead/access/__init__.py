"""The one access decision (`access.decide`), teaser cutting, the ad decision
and cache headers for gated responses."""
