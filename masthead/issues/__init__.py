"""Issues of the magazine (volume, number, cover, ordered contents), the
publishing schedule and the archive. Depends on newsroom."""
