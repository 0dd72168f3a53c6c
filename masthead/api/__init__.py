"""The read API for content (/api/articles/) and oEmbed (/oembed/).

Read-only JSON. Articles come with the body a reader may have: the whole of
it with access, the teaser otherwise, as `access.open_article` decides (the
same rule as the article page, meter included). oEmbed is the same for
everyone, so it always carries the teaser only. Depends on newsroom, access
and core; nothing depends on it.
"""
