"""Narration of articles: text normalisation, TTS engines, segment cache, MP3
encoding, the player and podcast feeds."""
