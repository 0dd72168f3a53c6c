"""The published journalism: sections, authors, articles, images, feeds,
sitemaps and structured data. Depends on core and accounts only."""
