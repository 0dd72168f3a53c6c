from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from wagtail import hooks
from wagtail.models import Page

from .variants import serve_article_page

Serve = Callable[[Page, HttpRequest, tuple[Any, ...], dict[str, Any]], HttpResponse]


@hooks.register("on_serve_page", order=100)
def serve_articles_through_variants(serve: Serve) -> Serve:
    """Article pages go through the cached variants (variants.py).
    Registered after Wagtail's view-restriction check, which wraps this."""

    def inner(
        page: Page, request: HttpRequest, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> HttpResponse:
        return serve_article_page(serve, page, request, args, kwargs)

    return inner
