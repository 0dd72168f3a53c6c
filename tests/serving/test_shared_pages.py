"""The page cache's rule: only pages of the types in SHARED_PAGES may be
kept by a shared cache; every other answer is `private` or `no-store`."""

import secrets

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.utils.regex_helper import normalize

from masthead.billing.actions import ensure_default_plans
from masthead.billing.models import Gift, Plan, Price, hash_token
from masthead.serving.middleware import SharedPagesMiddleware
from masthead.serving.pagecache import SHARED_PAGES, AnonymousPageCache
from tests.factories import make_image
from tests.serving.test_pagecache import WSGIClient

pytestmark = pytest.mark.django_db


def url_patterns(resolver=None, regex="", namespace=""):
    """Every URL pattern of the project: (its whole regex, its view name,
    whether Masthead's own code answers it)."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        whole = regex + pattern.pattern.regex.pattern.lstrip("^")
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}{pattern.namespace}:"
            yield from url_patterns(pattern, whole.rstrip("$").removesuffix(r"\Z"), inner)
        else:
            name = f"{namespace}{pattern.name}" if pattern.name else pattern.lookup_str
            yield whole, name, pattern.lookup_str.startswith("masthead.")


def a_url(regex, values):
    """A URL that `regex` matches, with `values` for its parameters (a
    plain "1" for those not given)."""
    template, params = normalize(regex)[0]
    return "/" + template % {param: values.get(param, "1") for param in params}


def shared_or_private(response):
    cache_control = response.get("Cache-Control", "")
    name = response.resolver_match.view_name if response.resolver_match else None
    if name in SHARED_PAGES:
        return True
    return ("private" in cache_control or "no-store" in cache_control) and (
        "public" not in cache_control
    )


def make_gift(plan, status=Gift.Status.PAID):
    token = secrets.token_urlsafe(24)
    gift = Gift.objects.create(
        buyer_email="buyer@example.com",
        recipient_email="friend@example.com",
        recipient_name="Friend",
        message="Happy birthday, from your secret admirer",
        plan=plan,
        months=Gift.Months.TWELVE,
        amount=8000,
        status=status,
        token_hash=hash_token(token),
    )
    return gift, token


@pytest.fixture
def wsgi(monkeypatch):
    return WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))


@pytest.fixture
def parameters(magazine):
    """Values that reach a real object for each URL's parameters, by view
    name and parameter (or by parameter alone)."""
    ensure_default_plans()
    _, gift_token = make_gift(Plan.objects.first())
    article = magazine["free"]
    author = magazine["authors"][0]
    image = make_image()
    return {
        "article_id": str(article.pk),
        "issue_id": str(magazine["issue"].pk),
        "price_id": str(Price.objects.first().pk),
        "edition_format": "epub",
        "slug": author.slug,
        "path": image.file.name,
        "newsroom:section_rss": {"slug": "politics"},
        "newsroom:section_atom": {"slug": "politics"},
        "billing:gift_redeem": {"token": gift_token},
        "wagtail_serve": {"_0": article.url.lstrip("/")},
    }


def walk_every_url(client, parameters):
    """GET every URL pattern of the project; the answers that break the rule,
    and the patterns no URL reached."""
    broken, unreached = [], []
    for regex, name, own in url_patterns():
        values = {param: value for param, value in parameters.items() if isinstance(value, str)}
        values.update(parameters.get(name, {}))
        url = a_url(regex, values)
        try:
            reached = resolve(url.split("?")[0])
        except Exception:
            unreached.append((name, url, own))
            continue
        if reached.view_name != name and reached._func_path != name:
            unreached.append((name, url, own))
        response = client.get(url)
        if not shared_or_private(response):
            broken.append((name, url, response.status_code, response.get("Cache-Control")))
    return broken, unreached


def test_every_url_is_a_shared_page_type_or_private(parameters):
    client = Client(raise_request_exception=False)
    broken, unreached = walk_every_url(client, parameters)
    assert broken == []
    # Every pattern of Masthead's own apps was requested, not just the admin's.
    assert [(name, url) for name, url, own in unreached if own] == []
    assert len(unreached) < 10, unreached


def test_every_url_is_a_shared_page_type_or_private_for_staff(parameters, django_user_model):
    editor = django_user_model.objects.create_superuser("editor@example.com", "pw-12345-long")
    client = Client(raise_request_exception=False)
    client.force_login(editor)
    broken, _ = walk_every_url(client, parameters)
    assert broken == []


def test_a_public_header_on_a_page_type_not_shared_is_replaced(rf):
    request = rf.get("/gift/redeem/abc/")
    request.resolver_match = resolve("/gift/redeem/abc/")

    def view(request):
        from django.http import HttpResponse

        response = HttpResponse("A gift from buyer@example.com")
        response["Cache-Control"] = "public, max-age=60, s-maxage=300"
        return response

    response = SharedPagesMiddleware(view)(request)
    assert response["Cache-Control"] == "private, no-store"


@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_a_gift_link_is_never_shared_before_or_after_redemption(
    wsgi,
    magazine,
    client,
    django_user_model,
):
    ensure_default_plans()
    gift, token = make_gift(Plan.objects.get(code="digital"))
    link = f"/gift/redeem/{token}/"
    for _ in range(2):
        status, headers, page = wsgi.get(link)
        assert status.startswith("200") and "buyer@example.com" in page
        assert "secret admirer" in page
        assert "X-Page-Cache" not in headers
        assert "public" not in headers["Cache-Control"]
        assert "no-store" in headers["Cache-Control"]
        assert "private" in headers["Cache-Control"]

    friend = django_user_model.objects.create_user("friend@example.com")
    client.force_login(friend)
    signed_in = client.get(link)
    assert "no-store" in signed_in["Cache-Control"]
    assert client.post(link).status_code == 302
    gift.refresh_from_db()
    assert gift.status == Gift.Status.REDEEMED
    # Django's test client connects close_old_connections again after each
    # request; the WSGI calls below must keep the test's connection open.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    # After redemption nobody sees the buyer or the message, from any cache.
    for _ in range(2):
        status, headers, page = wsgi.get(link)
        assert status.startswith("404")
        assert "buyer@example.com" not in page and "secret admirer" not in page
        assert "X-Page-Cache" not in headers
