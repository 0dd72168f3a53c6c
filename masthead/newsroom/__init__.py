"""The published journalism: sections, authors, articles, images, feeds,
sitemaps and structured data. May import core and accounts; an article may
name billing's plans (`required_plans`, a relation by name), and what a
reader sees of it is decided by access (`access.decide`, in access's
template tags), never here. Apps above add pages to the fixed site tree
through `site_tree.SITE_TREE_PAGES`."""
