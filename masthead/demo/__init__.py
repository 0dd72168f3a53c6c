"""The demo magazine: The Meridian Review, loaded by `manage.py load_demo_magazine`.

A developer tool on the top floor, not a domain: it may import any app
(newsroom and issues for the content, editions to queue the published
issues' builds); no app imports it.

`catalogue` holds the fixed facts (authors, issues, the magazine's name), `parser`
reads the article files described in FORMAT.md, `images` draws every picture
with Pillow, and `loader` puts it all into Wagtail.
"""
