"""The pages shown when something fails. The 500 page is a static file sent
as it is: the error may be the database or a template, so it needs neither."""

from functools import cache

from django.conf import settings
from django.http import HttpResponseServerError

SERVER_ERROR_PAGE = "errors/500.html"


@cache
def _server_error_page() -> bytes:
    for directory in settings.STATICFILES_DIRS:
        page = directory / SERVER_ERROR_PAGE
        if page.exists():
            return page.read_bytes()
    return b"<!doctype html><title>Server error</title><h1>Something went wrong</h1>"


def server_error(request):
    """handler500: the static page, with no context processors and no queries."""
    return HttpResponseServerError(_server_error_page(), content_type="text/html; charset=utf-8")
