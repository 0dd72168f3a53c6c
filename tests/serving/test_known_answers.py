"""A signed-in reader asking again for a page answered before Django a moment
ago gets the answer worked out then (`variants.SignedInPages`): never past
what it was worked out from, and counted each time."""

from datetime import timedelta

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone

from masthead.ads.models import AdSlot
from masthead.insights import counting
from masthead.insights.models import Tally
from masthead.serving.pagecache import AnonymousPageCache
from tests.access.support import gated_sentence, make_reader
from tests.serving.test_shared_cache import signed_in

pytestmark = pytest.mark.usefixtures("wsgi_in_test_transaction")


@pytest.fixture
def application(settings, serving_clock):
    # Copies trusted for long, so only what an answer was worked out from
    # bounds it; the clock moves only when a test moves it.
    settings.SERVING_PER_PROCESS_SECONDS = 3600
    settings.CACHED_MEMBER_SECONDS = 3600
    settings.CACHED_ENTITLEMENT_SECONDS = 3600
    settings.ARTICLE_VARIANT_SECONDS = 7200
    return AnonymousPageCache(WSGIHandler(), ttl=60)


def label(reader, path):
    _status, headers, page = reader.get(path)
    return headers.get("X-Article-Cache"), page


@pytest.fixture
def counts(settings):
    # No background writer: the test writes the counts when it means to.
    settings.INSIGHTS_FLUSH_COUNTS = 10_000
    settings.INSIGHTS_FLUSH_SECONDS = 0
    counting.stop_flushing()
    counting.forget_pending()
    yield
    counting.forget_pending()


def test_each_answer_given_again_counts_a_read(application, in_world, counts):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, make_reader("active", in_world))
    labels = [label(reader, article.url)[0] for _ in range(4)]
    assert labels == ["stored", "early", "early", "early"]
    counting.flush()
    assert Tally.objects.get(kind="read", object_id=article.pk).count == 4


def test_an_answer_is_not_given_again_once_the_ad_on_it_ends(application, in_world, serving_clock):
    ends = timezone.now() + timedelta(seconds=90)
    AdSlot.objects.update(enabled=False)  # the magazine's own: this one alone runs
    AdSlot.objects.create(
        name="Tote", placement="article_inline", kind="html", html="<p>Tote bag</p>", ends_at=ends
    )
    article = in_world.articles["members"]
    reader = signed_in(application, make_reader("free member", in_world))
    assert label(reader, article.url)[0] == "stored"
    got, page = label(reader, article.url)
    assert got == "early" and "Tote bag" in page
    serving_clock.advance(60)
    assert label(reader, article.url)[0] == "early"
    serving_clock.advance(31)
    # The page with the ad expired: Django renders it again (and, the ad's
    # end being past by this test's clock, does not cache it).
    assert label(reader, article.url)[0] is None


def test_an_answer_is_not_given_again_once_the_member_is_due_to_be_read_again(
    application, in_world, serving_clock, settings
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, make_reader("active", in_world))
    label(reader, article.url)
    assert label(reader, article.url)[0] == "early"
    serving_clock.advance(3600 - settings.REFRESH_AHEAD_SECONDS + 1)
    # Django reads the member and the entitlement again; the page is cached.
    got, page = label(reader, article.url)
    assert got == "hit" and gated_sentence("subscribers") in page


def test_a_setting_that_moves_the_place_applies_to_answers_given_again(
    application, in_world, settings
):
    article = in_world.articles["subscribers"]
    reader = signed_in(application, make_reader("active", in_world))
    reader.headers = {"HTTP_X_FORWARDED_HOST": "elsewhere.example"}
    label(reader, article.url)
    assert label(reader, article.url)[0] == "early"
    settings.USE_X_FORWARDED_HOST = True
    # Another place now, where nothing is cached yet.
    assert label(reader, article.url)[0] != "early"
