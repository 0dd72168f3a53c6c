"""A web process renders the home page and the latest article once as it
starts (core/warmup.py), and starts anyway when it cannot."""

import logging

import pytest
from django.core.handlers.wsgi import WSGIHandler
from wagtail.models import Site

from masthead.serving.warmup import warm_up

pytestmark = pytest.mark.usefixtures("wsgi_in_test_transaction")


class Recording:
    """Django's WSGI handler, noting each request's path, host and status."""

    def __init__(self):
        self.handler = WSGIHandler()
        self.answers = []

    def __call__(self, environ, start_response):
        def note(status, headers, exc_info=None):
            self.answers.append((environ["PATH_INFO"], environ["HTTP_HOST"], status))
            return start_response(status, headers, exc_info)

        return self.handler(environ, note)


def test_a_process_renders_the_home_page_and_the_latest_article_as_it_starts(magazine, caplog):
    from masthead.newsroom.models import ArticlePage

    latest = ArticlePage.objects.live().order_by("-first_published_at").first()
    host = Site.objects.get(is_default_site=True).hostname
    application = Recording()
    with caplog.at_level(logging.WARNING, logger="masthead.serving.warmup"):
        warm_up(application)
    assert application.answers == [
        ("/", host, "200 OK"),
        (latest.url, host, "200 OK"),
    ]
    assert caplog.records == []


def test_a_site_without_articles_warms_its_home_page(db):
    application = Recording()
    warm_up(application)
    assert application.answers == [("/", "localhost", "200 OK")]


def test_a_process_that_cannot_warm_up_starts_anyway(magazine, caplog):
    def broken(environ, start_response):
        raise RuntimeError("the database is not there yet")

    with caplog.at_level(logging.WARNING, logger="masthead.serving.warmup"):
        warm_up(broken)
    assert "not warmed up" in caplog.text
