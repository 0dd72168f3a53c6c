from wagtail import hooks

from .reading import serve_article_page


@hooks.register("on_serve_page", order=100)
def serve_articles_through_variants(serve):
    """Article pages go through the kept variants (reading.py). Registered
    after Wagtail's view-restriction check, which wraps this."""

    def inner(page, request, args, kwargs):
        return serve_article_page(serve, page, request, args, kwargs)

    return inner

