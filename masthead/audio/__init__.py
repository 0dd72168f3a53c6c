"""Narration of articles: text normalisation, speech engines, the segment
cache, mastering and MP3 encoding, the read-along player and podcast feeds.

Dependencies point inward: audio uses newsroom (articles), issues, core
(magazine settings), access (`decide`, the teaser) and billing
(`current_entitlement`); nothing imports audio, apart from templates that
include its player and its account-page snippet.
"""
