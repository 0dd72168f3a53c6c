"""The demo magazine: The Meridian Review, loaded by `manage.py load_demo_magazine`.

`catalogue` holds the fixed facts (authors, issues, the magazine's name), `parser`
reads the article files described in FORMAT.md, `images` draws every picture
with Pillow, and `loader` puts it all into Wagtail. Nothing here is imported by
the domain apps; dependencies point from here to newsroom, issues and editions
(to queue the published issues' builds), never back.
"""
