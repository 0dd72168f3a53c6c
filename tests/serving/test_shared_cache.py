"""Through the real WSGI stack with the anonymous page cache in front: a
subscriber's page is never anyone else's, signing out shows the teaser at
once, and publishing, editing, unpublishing or a change of subscription
shows at once in kept pages too."""

import io
import re
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.test import Client

from masthead.billing.models import Subscription
from masthead.serving.pagecache import AnonymousPageCache
from tests.access.support import gated_sentence, make_reader, teaser_sentence
from tests.factories import paragraph
from tests.wsgi import wsgi_environ

SESSION = settings.SESSION_COOKIE_NAME
pytestmark = pytest.mark.usefixtures("wsgi_in_test_transaction")


class WSGIClient:
    """Calls a WSGI application the way a server would, keeping cookies."""

    def __init__(self, application):
        self.application = application
        self.cookies = {}
        self.headers = {}  # more of the environ, e.g. HTTP_X_FORWARDED_HOST

    def request(self, method, path, data=None):
        body = urlencode(data or {}).encode()
        form = {
            "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": "application/x-www-form-urlencoded",
        }
        environ = wsgi_environ(path, method, self.cookies, **{**form, **self.headers})
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        content = b"".join(self.application(environ, start_response)).decode()
        for name, value in captured["headers"]:
            if name.lower() == "set-cookie":
                cookie, _, rest = value.strip().partition(";")
                key, _, cookie_value = cookie.partition("=")
                if "expires=Thu, 01 Jan 1970" in rest or cookie_value in ('""', ""):
                    self.cookies.pop(key, None)
                else:
                    self.cookies[key] = cookie_value
        return captured["status"], dict(captured["headers"]), content

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, data):
        return self.request("POST", path, data)


@pytest.fixture(params=["fresh copies", "per-process copies"])
def application(request, settings, serving_clock):
    if request.param == "per-process copies":
        # As in production: pages answered before Django trust this
        # process's copies of the generation, sessions, members and
        # entitlements for a moment (the clock does not move in the test).
        # Changes made in this process must still show at once.
        settings.SERVING_PER_PROCESS_SECONDS = 0.5
    return AnonymousPageCache(WSGIHandler(), ttl=60)


def signed_in(application, user):
    client = Client()
    client.force_login(user)
    wsgi = WSGIClient(application)
    wsgi.cookies[SESSION] = client.cookies[SESSION].value
    return wsgi


@pytest.fixture
def subscriber(in_world):
    return make_reader("active", in_world)


def test_a_subscribers_page_is_never_served_to_the_next_visitor(application, in_world, subscriber):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    status, headers, page = reader.get(article.url)
    assert status.startswith("200") and gated_sentence("subscribers") in page
    assert "private" in headers["Cache-Control"] and "Cookie" in headers["Vary"]
    assert "X-Page-Cache" not in headers

    visitor = WSGIClient(application)
    status, headers, teaser = visitor.get(article.url)
    assert teaser_sentence("subscribers") in teaser and "sentinel" not in teaser.lower()
    assert "public" in headers["Cache-Control"]
    status, headers, again = visitor.get(article.url)
    assert headers["X-Page-Cache"] == "hit" and again == teaser

    # The subscriber's next request is answered from the kept full page,
    # before Django, with the headers Django gave it.
    status, headers, page = reader.get(article.url)
    assert headers.get("X-Article-Cache") == "early"
    assert "X-Page-Cache" not in headers
    assert gated_sentence("subscribers") in page
    assert "private" in headers["Cache-Control"] and "Cookie" in headers["Vary"]
    assert headers["X-Frame-Options"] == "SAMEORIGIN"
    assert headers["Content-Length"] == str(len(page.encode()))


def test_signing_out_shows_the_teaser_at_once(application, in_world, subscriber):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    old_session = reader.cookies[SESSION]
    assert gated_sentence("subscribers") in reader.get(article.url)[2]
    assert reader.get(article.url)[1].get("X-Article-Cache") == "early"

    form = reader.get("/account/sign-out/")[2]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    status, headers, _ = reader.post("/account/sign-out/", {"csrfmiddlewaretoken": token})
    assert status.startswith("302")
    assert SESSION not in reader.cookies

    status, headers, page = reader.get(article.url)
    assert "sentinel" not in page.lower() and 'data-paywall="sign-in-required"' in page
    # The old session cookie, sent again, is nobody's.
    replay = WSGIClient(application)
    replay.cookies[SESSION] = old_session
    status, headers, page = replay.get(article.url)
    assert "sentinel" not in page.lower() and 'data-paywall="sign-in-required"' in page


def test_a_refund_or_a_lapse_takes_the_article_away_at_once(application, in_world, subscriber):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    assert gated_sentence("subscribers") in reader.get(article.url)[2]
    assert reader.get(article.url)[1].get("X-Article-Cache") == "early"
    subscription = Subscription.objects.get(member=subscriber)
    subscription.status = Subscription.Status.REFUNDED
    subscription.save()
    page = reader.get(article.url)[2]
    assert "sentinel" not in page.lower()
    assert 'data-paywall="subscription-required"' in page
    # ...and a new subscription gives it back at once.
    subscription.status = Subscription.Status.ACTIVE
    subscription.save()
    assert gated_sentence("subscribers") in reader.get(article.url)[2]


def test_a_deactivated_member_is_signed_out(application, in_world, subscriber):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    assert reader.get(article.url)[1].get("X-Article-Cache") == "early"
    subscriber.is_active = False
    subscriber.save()
    page = reader.get(article.url)[2]
    assert "sentinel" not in page.lower() and 'data-paywall="sign-in-required"' in page


def test_publishing_an_edit_refreshes_cached_pages(
    application, in_world, subscriber, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    visitor = WSGIClient(application)
    reader.get(article.url), reader.get(article.url)
    visitor.get(article.url), visitor.get(article.url)
    assert visitor.get(article.url)[1]["X-Page-Cache"] == "hit"

    body = list(article.body.raw_data)
    body[0] = {"type": "paragraph", "value": "<p>A new opening for everyone.</p>"}
    body[3] = {"type": "paragraph", "value": "<p>A new gated line for SENTINEL-subscribers.</p>"}
    article.body = body
    with django_capture_on_commit_callbacks(execute=True):  # the publish commits
        article.save_revision().publish()

    _, headers, page = reader.get(article.url)
    assert "A new opening for everyone." in page and "A new gated line" in page
    _, headers, teaser = visitor.get(article.url)
    assert "X-Page-Cache" not in headers
    assert "A new opening for everyone." in teaser and "A new gated line" not in teaser


def test_making_an_article_free_shows_it_whole_at_once(
    application, in_world, subscriber, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    visitor = WSGIClient(application)
    visitor.get(article.url)
    assert visitor.get(article.url)[1]["X-Page-Cache"] == "hit"
    article.access_level = "public"
    with django_capture_on_commit_callbacks(execute=True):
        article.save_revision().publish()
    assert gated_sentence("subscribers") in visitor.get(article.url)[2]


def test_gating_a_free_article_hides_it_at_once(
    application, in_world, django_capture_on_commit_callbacks
):
    article = in_world.articles["public"]
    member = signed_in(application, make_reader("free member", in_world))
    visitor = WSGIClient(application)
    for client in (member, visitor, member, visitor):
        assert gated_sentence("public") in client.get(article.url)[2]
    article.access_level = "subscribers"
    article.body = [
        *[(b.block_type, b.value) for b in article.body][:3],
        paragraph("<p>Now only for subscribers: SENTINEL-public.</p>"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        article.save_revision().publish()
    for client in (member, visitor):
        page = client.get(article.url)[2]
        assert "sentinel" not in page.lower() and "data-paywall" in page


def test_unpublishing_removes_the_page_for_everyone_at_once(
    application, in_world, subscriber, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    visitor = WSGIClient(application)
    for client in (reader, reader, visitor, visitor):
        client.get(article.url)
    with django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    assert reader.get(article.url)[0].startswith("404")
    assert visitor.get(article.url)[0].startswith("404")


# Cached pages answered before Django (variants.SignedInPages) --------------------------------


@pytest.fixture
def django_requests():
    from django.core.signals import request_started

    started = []

    def count(**kwargs):
        started.append(1)

    request_started.connect(count)
    yield started
    request_started.disconnect(count)


def test_a_subscriber_reading_on_costs_no_django_request_and_no_query(
    application, in_world, subscriber, django_requests, django_assert_num_queries
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "stored"
    del django_requests[:]
    with django_assert_num_queries(0):
        for _ in range(3):
            status, headers, page = reader.get(article.url)
            assert headers["X-Article-Cache"] == "early"
            assert gated_sentence("subscribers") in page
    assert django_requests == []


@pytest.mark.parametrize(
    "state, level, early",
    [
        ("active", "public", True),
        ("active", "members", True),
        ("active", "plans", True),
        ("free member", "public", True),
        ("free member", "members", True),
        # Django works these out: the paywall (and meter) for free members,
        # another subscription that may grant the chosen plan.
        ("free member", "subscribers", False),
        ("active on another plan", "plans", False),
    ],
)
def test_the_path_before_django_answers_only_what_needs_no_query(
    state, level, early, application, in_world
):
    article = in_world.articles[level]
    reader = signed_in(application, make_reader(state, in_world))
    first = reader.get(article.url)
    status, headers, page = reader.get(article.url)
    assert (headers.get("X-Article-Cache") == "early") is early
    assert page == first[2]


def test_the_path_before_django_never_serves_editors(application, in_world, django_user_model):
    editor = django_user_model.objects.create_superuser("desk@example.org", "pw-123456789")
    article = in_world.articles["subscribers"]
    reader = signed_in(application, editor)
    for _ in range(3):
        status, headers, page = reader.get(article.url)
        assert "X-Article-Cache" not in headers and "wagtail-userbar" in page


def test_a_forged_or_stale_session_gets_nothing_before_django(application, in_world, subscriber):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "early"
    stranger = WSGIClient(application)
    stranger.cookies[SESSION] = "x" * 32
    status, headers, page = stranger.get(article.url)
    assert "sentinel" not in page.lower() and headers.get("X-Article-Cache") != "early"
    # The member's password changes: their other sessions end.
    subscriber.set_password("a-new-long-password")
    subscriber.save()
    status, headers, page = reader.get(article.url)
    assert "sentinel" not in page.lower() and 'data-paywall="sign-in-required"' in page


def kept_entries(user):
    """The member's kept details and entitlement, as the cache holds them."""
    from django.core.cache import cache

    return cache.get(f"serving:member:{user.pk}"), cache.get(f"serving:entitlement:{user.pk}")


def age_kept_entries(user, *, refresh_in, expire_in=30):
    """Ages the member's kept details and entitlement as time passing would:
    due to be read again in `refresh_in` seconds, gone in `expire_in`."""
    import dataclasses

    from django.core.cache import cache

    from masthead.serving import clock, members

    member, entitlement = kept_entries(user)
    now = clock.now()
    cache.set(f"serving:member:{user.pk}", dataclasses.replace(member, refresh_at=now + refresh_in))
    cache.set(
        f"serving:entitlement:{user.pk}",
        dataclasses.replace(entitlement, expires=now + expire_in, refresh_at=now + refresh_in),
    )
    members.forget_copies()  # this process's copies: as if read from the cache now


@pytest.fixture
def long_refresh_claim(settings):
    """A request's claim on re-reading a cached entry outlasts the test."""
    settings.REFRESH_CLAIM_SECONDS = 60


def test_a_busy_members_cached_details_are_read_again_by_one_request_before_they_expire(
    application,
    in_world,
    subscriber,
    django_requests,
    django_assert_num_queries,
    long_refresh_claim,
):

    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "early"
    age_kept_entries(subscriber, refresh_in=-1)
    del django_requests[:]
    # The first request to find them due is left to Django, which reads
    # the member (its own check of the session) and the entitlement again.
    with django_assert_num_queries(2):
        _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "hit" and len(django_requests) == 1
    assert gated_sentence("subscribers") in page
    member, entitlement = kept_entries(subscriber)
    from masthead.serving import clock

    assert member.refresh_at > clock.now() + 10 and entitlement.refresh_at > clock.now() + 10

    # Every other request meanwhile (another process's, whose copies are
    # still the old ones) uses them until they expire, without a query.
    age_kept_entries(subscriber, refresh_in=-1)
    del django_requests[:]
    with django_assert_num_queries(0):
        for _ in range(3):
            _, headers, page = reader.get(article.url)
            assert headers["X-Article-Cache"] == "early"
            assert gated_sentence("subscribers") in page
    assert django_requests == []


def test_a_cached_entitlement_is_never_used_past_its_expiry_while_another_request_reads_it_again(
    application, in_world, subscriber, long_refresh_claim
):
    from django.db import connection

    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "early"
    age_kept_entries(subscriber, refresh_in=-1)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "hit"  # holds the re-reading
    # Refunded behind the cache's back (raw SQL: nothing reports it)...
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Subscription._meta.db_table} SET status = %s WHERE member_id = %s",
            [Subscription.Status.REFUNDED, subscriber.pk],
        )
    age_kept_entries(subscriber, refresh_in=-1)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "early"
    # ...the kept entitlement serves until it expires, and never after.
    age_kept_entries(subscriber, refresh_in=-2, expire_in=-1)
    _, headers, page = reader.get(article.url)
    assert "sentinel" not in page.lower()
    assert 'data-paywall="subscription-required"' in page


# While a publish is rendered anew --------------------------------------------------


def route_key(path):
    from masthead.serving.keys import environ_place, place_keys

    environ = {"HTTP_HOST": "testserver", "wsgi.url_scheme": "http"}
    return place_keys(environ_place(environ)).route(path)


@pytest.fixture
def long_grace(settings):
    """A publish's grace outlasts the test, however slow this machine is now."""
    settings.PUBLISH_GRACE_SECONDS = 60


@pytest.fixture
def another_request_renders(long_grace):
    """Claims the rendering of a page in this generation, as the request
    that got there first does; ends that request's claim after the test."""
    from masthead.serving.variants import RouteRefresh

    claims = []

    def claim(path):
        refresh = RouteRefresh()
        assert refresh.claim(route_key(path))
        claims.append(refresh)
        return refresh.end

    yield claim
    for refresh in claims:
        refresh.end()


def kept_variant_name(article, access):
    """The name of the one variant of the article kept for `access` ("full",
    "teaser") in this generation."""
    from masthead.serving.variants import variants

    # Kept variants are "generation:scheme:host:article:variant".
    kept = route_key(f"{article.pk}:{access}:")
    (variant,) = {key.removeprefix(kept) for key in variants.local.entries if key.startswith(kept)}
    return f"{access}:{variant}"


def kept_variant(article, access):
    """The one variant of the article kept for `access` ("full", "teaser"),
    as a context manager that holds its rendering in the next generation,
    as another request rendering it anew would."""
    from contextlib import contextmanager

    from masthead.serving.singleflight import Flight, flights

    name = kept_variant_name(article, access)

    @contextmanager
    def rendering_anew():
        with flights.wait_or_lead(f"variant:{route_key(f'{article.pk}:{name}')}") as flight:
            assert flight is Flight.RENDER
            yield

    return rendering_anew


def publish_new_opening(article, django_capture_on_commit_callbacks, **changes):
    body = list(article.body.raw_data)
    body[0] = {"type": "paragraph", "value": "<p>A new opening for everyone.</p>"}
    article.body = body
    for name, value in changes.items():
        setattr(article, name, value)
    with django_capture_on_commit_callbacks(execute=True):
        article.save_revision().publish()


def test_while_another_request_renders_a_publish_subscribers_get_the_page_from_before(
    application, in_world, subscriber, another_request_renders, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    assert reader.get(article.url)[1]["X-Article-Cache"] == "early"
    publish_new_opening(article, django_capture_on_commit_callbacks)

    done = another_request_renders(article.url)
    _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "stale" and "X-Page-Cache" not in headers
    assert gated_sentence("subscribers") in page and "A new opening" not in page
    assert "private" in headers["Cache-Control"]

    done()  # that request found nothing to keep: this reader renders it
    _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "stored"
    assert gated_sentence("subscribers") in page and "A new opening for everyone." in page
    _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "early" and "A new opening for everyone." in page


def test_while_another_request_renders_a_publish_the_page_from_before_costs_no_round_trip(
    application,
    in_world,
    subscriber,
    another_request_renders,
    django_capture_on_commit_callbacks,
    cache_calls,
):
    from masthead.serving import variants

    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    publish_new_opening(article, django_capture_on_commit_callbacks)
    another_request_renders(article.url)
    calls = cache_calls(variants)
    for _ in range(5):
        _, headers, page = reader.get(article.url)
        assert headers["X-Article-Cache"] == "stale" and gated_sentence("subscribers") in page
    # The first reader found the route not kept yet and its rendering
    # claimed; the others took that as still so.
    route = route_key(article.url)
    asked = [call for call in calls if route in call[1]]
    assert asked == [("get", f"serving:route:{route}"), ("get", f"serving:refreshing:{route}")]


def test_a_variant_being_rendered_is_answered_from_before(
    application,
    in_world,
    subscriber,
    django_requests,
    long_grace,
    django_capture_on_commit_callbacks,
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    rendering_anew = kept_variant(article, "full")
    publish_new_opening(article, django_capture_on_commit_callbacks)
    # A visitor's rendering keeps the route: only the subscriber's variant is new.
    assert "A new opening" in WSGIClient(application).get(article.url)[2]
    with rendering_anew():
        del django_requests[:]
        _, headers, page = reader.get(article.url)
        assert headers["X-Article-Cache"] == "stale" and "A new opening" not in page
        assert django_requests == []  # answered before Django
    _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "stored" and "A new opening for everyone." in page


def test_a_variant_rendered_in_another_process_is_answered_from_before_without_round_trips(
    application, in_world, subscriber, long_grace, django_capture_on_commit_callbacks, cache_calls
):
    from django.core.cache import cache

    from masthead.serving import singleflight, variants

    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)
    name = kept_variant_name(article, "full")
    publish_new_opening(article, django_capture_on_commit_callbacks)
    # A visitor's rendering keeps the route: only the subscriber's variant is new.
    assert "A new opening" in WSGIClient(application).get(article.url)[2]
    key = route_key(f"{article.pk}:{name}")
    cache.add(f"flight:variant:{key}", 1, 10)  # another process renders it
    calls = cache_calls(variants, singleflight)
    for _ in range(5):
        _, headers, page = reader.get(article.url)
        assert headers["X-Article-Cache"] == "stale" and "A new opening" not in page
    # The first reader found the variant not kept and its rendering claimed;
    # the others took that as still so.
    asked = [call for call in calls if key in call[1]]
    assert asked == [("get", f"serving:variant:{key}"), ("get", f"flight:variant:{key}")]


def test_after_the_grace_nobody_gets_the_page_from_before(
    application,
    in_world,
    subscriber,
    another_request_renders,
    settings,
    django_capture_on_commit_callbacks,
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url), reader.get(article.url)
    settings.PUBLISH_GRACE_SECONDS = 0
    publish_new_opening(article, django_capture_on_commit_callbacks)
    another_request_renders(article.url)
    _, headers, page = reader.get(article.url)
    assert headers["X-Article-Cache"] == "stored" and "A new opening for everyone." in page


def test_a_refund_during_the_grace_takes_the_article_away_at_once(
    application, in_world, subscriber, another_request_renders, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    lapsed = signed_in(application, make_reader("lapsed", in_world))
    for client in (reader, reader, lapsed):
        client.get(article.url)
    publish_new_opening(article, django_capture_on_commit_callbacks)
    another_request_renders(article.url)
    subscription = Subscription.objects.get(member=subscriber)
    subscription.status = Subscription.Status.REFUNDED
    subscription.save()
    _, headers, page = reader.get(article.url)
    # The teaser from before the publish (the lapsed reader's variant).
    assert headers["X-Article-Cache"] == "stale"
    assert "sentinel" not in page.lower() and 'data-paywall="subscription-required"' in page


def test_a_page_rendered_during_the_grace_uses_the_articles_terms_after_the_publish(
    application, in_world, subscriber, another_request_renders, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, subscriber)
    reader.get(article.url)  # keeps the route, with the terms "subscribers only"
    member = signed_in(application, make_reader("free member", in_world))
    publish_new_opening(article, django_capture_on_commit_callbacks, access_level="public")
    another_request_renders(article.url)
    # No teaser was kept before for the member: Django renders their page,
    # with the article free now, and keeps it.
    _, headers, page = member.get(article.url)
    assert headers["X-Article-Cache"] == "stored"
    assert gated_sentence("subscribers") in page and "data-paywall" not in page


def test_an_article_unpublished_is_gone_for_everyone_once_one_request_found_it_gone(
    application, in_world, subscriber, long_grace, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    first, second = signed_in(application, subscriber), signed_in(application, subscriber)
    for client in (first, first, second):
        client.get(article.url)
    with django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    # The first request renders the page anew and finds no article: when it
    # ends, nobody is rendering, so the next request is not answered from
    # before the publish either.
    assert first.get(article.url)[0].startswith("404")
    assert second.get(article.url)[0].startswith("404")


def test_a_page_from_before_the_publish_is_never_cached_as_the_page_after(
    application, in_world, long_grace, django_capture_on_commit_callbacks
):
    article = in_world.articles["subscribers"]
    visitor = WSGIClient(application)
    visitor.get(article.url)
    rendering_anew = kept_variant(article, "teaser")
    publish_new_opening(article, django_capture_on_commit_callbacks)
    # Another request (an anonymous session's, say) renders the teaser anew;
    # the visitor's request gets the one from before meanwhile...
    with rendering_anew():
        _, headers, page = visitor.get(article.url)
        assert headers["X-Article-Cache"] == "stale" and "A new opening" not in page
        assert "no-store" in headers["Cache-Control"]
    # ...which the page cache did not keep as the page after the publish.
    _, headers, page = visitor.get(article.url)
    assert "X-Page-Cache" not in headers and "A new opening for everyone." in page
    assert visitor.get(article.url)[1]["X-Page-Cache"] == "hit"
