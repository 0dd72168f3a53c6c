"""Ad slots: what the publisher runs, where, when, and for whom."""

from datetime import timedelta

import pytest
from bs4 import BeautifulSoup
from django.core.exceptions import ValidationError
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory
from django.utils import timezone

from masthead.ads.models import AdSlot
from masthead.billing.models import Plan, Subscription
from tests.factories import make_image

pytestmark = pytest.mark.django_db
NOW = timezone.now()


def html_ad(placement="article_inline", text="Buy our tote bag", **fields):
    return AdSlot.objects.create(
        name=text, placement=placement, kind="html", html=f'<p class="tote">{text}</p>', **fields
    )


def subscribe(user):
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    Subscription.objects.create(
        member=user, plan=Plan.objects.first(), status=Subscription.Status.COMPLIMENTARY
    )


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user("reader@example.org")


def render(placement, user=None):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().get("/")
    request.user = user or AnonymousUser()
    html = Template("{% load ad_tags %}{% ad_slot placement %}").render(
        Context({"request": request, "placement": placement})
    )
    return html, request


def test_a_house_ad_is_an_image_with_a_link_and_a_description(db):
    AdSlot.objects.create(
        name="Spring offer",
        placement="article_sidebar",
        kind="house",
        image=make_image("Offer"),
        link_url="https://example.org/spring",
        alt_text="Half price in spring",
    )
    html, _ = render("article_sidebar")
    soup = BeautifulSoup(html, "html.parser")
    aside = soup.find("aside")
    assert aside["class"] == ["ad-slot", "ad-slot--article_sidebar"]
    assert aside["aria-label"] == "Advertisement"
    link = aside.find("a")
    assert link["href"] == "https://example.org/spring" and "sponsored" in link["rel"]
    assert link.img["alt"] == "Half price in spring"
    assert link.img["src"].startswith("/media/images/")


def test_an_html_ad_is_sent_as_written(db):
    html_ad()
    html, _ = render("article_inline")
    assert '<p class="tote">Buy our tote bag</p>' in html


def test_an_empty_placement_renders_nothing_at_all(db):
    html_ad(placement="section_top")
    assert render("article_inline")[0] == ""


def test_subscribers_get_no_ad_markup(db, member):
    html_ad()
    assert "tote" in render("article_inline", member)[0]
    subscribe(member)
    assert render("article_inline", member)[0] == ""


@pytest.mark.parametrize(
    "fields",
    [
        {"enabled": False},
        {"weight": 0},
        {"starts_at": NOW + timedelta(hours=1)},
        {"ends_at": NOW - timedelta(minutes=1)},
    ],
)
def test_ads_off_or_out_of_their_dates_do_not_run(db, fields):
    html_ad(**fields)
    assert render("article_inline")[0] == ""


def test_weights_share_a_placement(db, monkeypatch):
    html_ad(text="Heavy", weight=3)
    html_ad(text="Light", weight=1)
    chosen = {}

    def choices(ads, weights):
        chosen["weights"] = sorted(weights)
        return [ads[0]]

    monkeypatch.setattr("masthead.ads.templatetags.ad_tags.random.choices", choices)
    render("article_inline")
    assert chosen["weights"] == [1, 3]


def test_pages_with_an_ad_are_kept_no_longer_than_it_runs(db, client, site_tree):
    from masthead.newsroom.models import SectionPage

    html_ad(placement="section_top", ends_at=timezone.now() + timedelta(seconds=90))
    section = SectionPage.objects.get(slug="politics")
    response = client.get(section.url)
    assert "Buy our tote bag" in response.content.decode()
    max_age = int(response["Cache-Control"].split("s-maxage=")[1].split(",")[0])
    assert 80 <= max_age <= 90


def test_publishing_an_ad_shows_it_at_once(db, client, site_tree):
    from masthead.newsroom.models import SectionPage

    section = SectionPage.objects.get(slug="politics")
    assert "ad-slot" not in client.get(section.url).content.decode()
    html_ad(placement="section_top")
    assert "Buy our tote bag" in client.get(section.url).content.decode()


def test_an_unknown_placement_is_a_template_error(db):
    with pytest.raises(TemplateSyntaxError):
        render("footer")


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"kind": "house", "link_url": "https://example.org", "alt_text": "x"}, "image"),
        ({"kind": "html", "html": "  "}, "html"),
        (
            {
                "kind": "html",
                "html": "<p>x</p>",
                "starts_at": NOW,
                "ends_at": NOW - timedelta(days=1),
            },
            "ends_at",
        ),
    ],
)
def test_the_publisher_is_told_what_an_ad_lacks(db, fields, field):
    ad = AdSlot(name="An ad", placement="article_inline", **fields)
    with pytest.raises(ValidationError) as error:
        ad.full_clean()
    assert field in error.value.message_dict


def test_the_publisher_manages_ads_in_wagtail(db, admin_client):
    html_ad()
    response = admin_client.get("/admin/snippets/ads/adslot/")
    assert response.status_code == 200
    assert "Buy our tote bag" in response.content.decode()
    assert admin_client.get("/admin/snippets/ads/adslot/add/").status_code == 200
