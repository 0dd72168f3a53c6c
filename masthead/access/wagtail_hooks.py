from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from wagtail import hooks
from wagtail.models import Page

from .reading import serve_article_page


@hooks.register("on_serve_page", order=100)
def serve_articles_through_variants(
    serve: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Article pages go through the kept variants (reading.py). Registered
    after Wagtail's view-restriction check, which wraps this."""

    def inner(
        page: Page, request: HttpRequest, args: Any, kwargs: Any
    ) -> HttpResponseBase:
        response: HttpResponseBase = serve_article_page(serve, page, request, args, kwargs)
        return response

    return inner

