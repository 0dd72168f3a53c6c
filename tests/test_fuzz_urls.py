"""Every URL pattern of the project, fetched with hostile values in each of
its parameters, answers below 500.

The patterns come from Django's resolver, included apps and Wagtail's routes
among them, so a new pattern is covered without a change here. Each path
parameter is tried with a good value (an id or slug of the test magazine)
and with hostile ones; each URL is fetched with GET and POST, with hostile
query strings and form bodies, as an anonymous reader and as a subscriber.
Reader pages are fetched at their real URLs. The admin's own patterns are
fetched anonymously; Masthead's admin views also under a staff login.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern
from wagtail.models import Page

from masthead.billing.models import Price
from tests.access.support import build_world, gated_attachments, make_reader

HUGE = "9" * 20
# Hostile values, already encoded for a URL's path, query string or form body.
HOSTILE = [HUGE, "-1", "a%22b", "%00a", "%FF%FE", "http%3A%2F%2F%5B%3A%3A1", ""]
HOSTILE_PATH = {
    "id": [HUGE, "999999999999999999", "0"],
    "int": [HUGE, "999999999999999999", "0"],
    "slug": ["a" * 300, "-", HUGE],
    "str": ["a%22b", "%00a", "%FF%FE", "%5B%3A%3A1", HUGE, "a" * 300],
    "path": ["a%22b", "%00a", "%FF%FE", "..%2F..%2Fsecret", HUGE],
}
# The query and form parameters each view reads (by URL name; found by
# reading the views), besides those every URL is tried with.
PARAMETERS = {
    "api:articles": ["page", "section"],
    "api:oembed": ["url", "format", "maxwidth", "maxheight"],
    "access:search": ["q", "page"],
    "printing:hold": ["cancel", "first_issue_date", "last_issue_date"],
    "billing:success": ["session_id", "next"],
    "billing:start_checkout": ["next"],
    "billing:gift_thanks": ["session_id"],
    "billing:gift": ["plan", "months", "recipient_email", "recipient_name", "message"],
    "billing:cancel": ["reason"],
    "billing:refund": ["reason"],
    "billing:test_checkout": ["number", "exp_month", "exp_year", "cvc"],
    "accounts:sign_in": ["email", "next"],
    "accounts:sign_in_password": ["email", "password", "next"],
    "accounts:sign_up": ["email", "full_name", "next"],
    "accounts:update_preferences": ["newsletter", "reminders"],
    "audio:podcast_feed": ["token"],
}
GENERIC = ["page", "q", "id", "next", "p"]
# Patterns written as regular expressions: a path for each, to fill.
REGEX_PATHS = {
    r"^(\d+)/(.*)$": ["{document_id}/{document_filename}", f"{HUGE}/x", "1/%00"],
    r"^((?:[\w\-]+/)*)$": ["", "finance/", f"{HUGE}/", "a%22b/", "%00/"],
    r"^media/(?P<path>.*)$": ["media/%00", "media/..%2F..%2Fsecret", "media/%FF"],
    # django-rq's statistics, there when the task queue is RQ.
    r"^stats.json/?$": ["stats.json", "stats.json/", "stats.json/%00"],
    r"^stats.json/(?P<token>[\w]+)?/?$": ["stats.json/x", f"stats.json/{HUGE}", "stats.json/a%22b"],
}
PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def patterns(resolvers=None, prefix=(), namespace=""):
    """(the patterns of a URL, joined, and its name) for every URL."""
    for entry in get_resolver().url_patterns if resolvers is None else resolvers:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from patterns(entry.url_patterns, (*prefix, entry.pattern), inner)
        else:
            name = f"{namespace}{entry.name}" if entry.name else ""
            yield (*prefix, entry.pattern), name, entry


def paths(pieces, good):
    """A good path for the URL, and paths with each parameter hostile."""
    variants = [""]
    for piece in pieces:
        if isinstance(piece, RoutePattern):
            route = str(piece)
            parameters = list(PARAMETER.finditer(route))
            filled = [PARAMETER.sub(lambda m: str(good(m["name"])), route)]
            for parameter in parameters:
                for value in HOSTILE_PATH[parameter["converter"] or "str"]:
                    filled.append(
                        PARAMETER.sub(
                            lambda m, p=parameter, v=value: (
                                v if m["name"] == p["name"] else str(good(m["name"]))
                            ),
                            route,
                        )
                    )
        else:
            assert isinstance(piece, RegexPattern)
            regex = str(piece)
            if regex in REGEX_PATHS:
                filled = [
                    path.format(
                        **{name: good(name) for name in ("document_id", "document_filename")}
                    )
                    for path in REGEX_PATHS[regex]
                ]
            else:
                filled = regex_paths(regex)
                assert filled, f"Add paths for {regex!r} to REGEX_PATHS"
        good_prefix = variants[0]
        variants = (
            [good_prefix + filled[0]]
            + [good_prefix + f for f in filled[1:]]
            + [v + filled[0] for v in variants[1:]]
        )
    return ["/" + variant for variant in variants]


def regex_paths(regex):
    """Paths a regular expression matches, each group filled with a good
    value and then a hostile one, where the expression is simple enough."""
    outer = re.compile(r"\((?:\?P<\w+>)?((?:[^()]|\([^()]*\))*)\)")

    def fill(value):
        text = outer.sub(value, regex).lstrip("^").rstrip("$").replace("\\", "")
        return text if re.fullmatch(regex.lstrip("^").rstrip("$"), text) else None

    good = fill("1") or fill("x") or fill(lambda match: match[1].split("|")[0])
    if good is None:
        return []
    hostile = [fill(value) for value in (HUGE, "a%22b")]
    return [good] + [path for path in hostile if path and path != good]


def requests(path, name, hostile_query=True):
    """(method, URL, form body) for a path: plain, and with each hostile value."""
    yield "get", path, None
    yield "post", path, ""
    if not hostile_query:
        return
    names = PARAMETERS.get(name, []) + GENERIC
    for value in HOSTILE:
        query = "&".join(f"{parameter}={value}" for parameter in names)
        yield "get", f"{path}?{query}", None
        yield "post", path, query
    yield "post", path, "%FF=%00&" + "&".join(f"{parameter}[]=x" for parameter in names)


def fetch(client, method, url, body):
    if method == "get":
        return client.get(url)
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


@pytest.fixture
def magazine(site_tree, settings):
    world = build_world(site_tree)
    figure, report = gated_attachments(world.articles["subscribers"])
    article = world.articles["subscribers"]
    good = {
        "article_id": article.pk,
        "image_id": figure.pk,
        "spec": "width-800",
        "issue_id": world.issue.pk,
        "edition_format": "epub",
        "price_id": Price.objects.order_by("pk").first().pk,
        "document_id": report.pk,
        "document_filename": report.filename,
        "slug": "finance",
        "pk": world.issue.pk,
    }
    return world, good


def test_no_url_answers_a_hostile_request_with_a_server_error(magazine):
    world, good_values = magazine

    def good(name):
        return good_values.get(name, 1)

    member = make_reader("active", world, email="fuzz-member@example.org")
    staff = get_user_model().objects.create_superuser(email="fuzz-staff@example.org", password="x")
    # A reader page of each kind (home, section, article, issue...).
    reader_pages = {}
    for page in Page.objects.live().specific().order_by("path"):
        if page.url:
            reader_pages.setdefault(type(page), page.url)

    failures = []

    def check(client, user, method, url, body):
        with transaction.atomic():
            # Each request in its own savepoint: a sign-out or a refund it
            # makes is undone before the next.
            if user is not None:
                # The last request's session was rolled back with it.
                client.cookies.clear()
                client.force_login(user)
            response = fetch(client, method, url, body)
            transaction.set_rollback(True)
        if response.status_code >= 500:
            who = user.email if user else "anonymous"
            failures.append(f"{method.upper()} {url} {body or ''} as {who}: {response.status_code}")

    anonymous, signed_in = (
        Client(raise_request_exception=False),
        Client(raise_request_exception=False),
    )
    for pieces, name, entry in patterns():
        route = "".join(str(piece) for piece in pieces)
        in_admin = route.startswith(("admin/", "django-admin/"))
        ours = entry.callback.__module__.startswith("masthead.")
        for number, path in enumerate(paths(pieces, good)):
            # Hostile query strings and bodies on the good path; the others
            # have a hostile path already.
            hostile_query = number == 0
            if in_admin:
                # Everyone but staff is sent to sign in.
                check(anonymous, None, "get", path, None)
                if ours:
                    for method, url, body in requests(path, name, hostile_query):
                        check(signed_in, staff, method, url, body)
                continue
            for method, url, body in requests(path, name, hostile_query):
                check(anonymous, None, method, url, body)
                check(signed_in, member, method, url, body)
    for page_url in reader_pages.values():
        for method, url, body in requests(page_url, ""):
            check(anonymous, None, method, url, body)
            check(signed_in, member, method, url, body)

    assert not failures, "\n".join(failures)
