"""Per-issue digital editions (EPUB and PDF) and their gated downloads."""
