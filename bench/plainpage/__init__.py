"""A plain Wagtail page type for bench/cold_render.py's reference: a title
and a rich-text body, served by Wagtail's stock `serve` view without
Masthead's routing, middleware or caches. Only the bench installs it."""
