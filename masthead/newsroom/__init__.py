"""The published journalism: sections, authors, articles, images, feeds,
sitemaps and structured data. Depends on core and accounts; an article may
name billing's plans (`required_plans`), and what a reader sees of it is
asked of access (`access.decide`), never decided here."""
