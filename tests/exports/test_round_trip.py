"""Export the demo magazine with its readers, empty the install, import the
archive, and find the same site page by page and reader by reader."""

import hashlib
import re
import shutil
import threading
import uuid
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from masthead.access.pictures import place_pictures
from masthead.billing.models import Gift, Plan, Price, Subscription
from masthead.exports.archive import site_path
from masthead.issues.models import IssuePage
from masthead.newsroom.models import ArticlePage, Author, CreditedImage, SectionPage
from masthead.serving import perprocess
from tests.factories import make_article, make_image, paragraph

pytestmark = pytest.mark.django_db(transaction=True)


def checksum(image):
    if image is None:
        return None
    with image.file.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def iso(value):
    return value.isoformat() if value else None


def teaser_position(page):
    types = [block.block_type for block in page.body]
    return types.index("teaser_break") if "teaser_break" in types else None


def article_pages():
    pages = {}
    for page in ArticlePage.objects.order_by("path"):
        pages[site_path(page)] = {
            "title": page.title,
            "dek": page.dek,
            "body_html": str(page.body),
            "access_level": page.access_level,
            "effective_access_level": page.effective_access_level,
            "required_plans": sorted(page.required_plans.values_list("code", flat=True)),
            "teaser_break": teaser_position(page),
            "authors": [author.name for author in page.authors],
            "section": page.section.slug,
            "issue": page.issue.label if page.issue else None,
            "lead_image": checksum(page.lead_image),
            "caption": page.caption,
            "tags": sorted(page.tags.names()),
            "live": page.live,
            "date": iso(page.date),
            "first_published_at": iso(page.first_published_at),
            "correction": (page.correction, iso(page.corrected_at)),
        }
    return pages


def issue_pages():
    return {
        site_path(issue): {
            "title": issue.title,
            "label": issue.label,
            "cover_date": issue.cover_date,
            "cover_image": checksum(issue.cover_image),
            "cover_lines": issue.cover_lines,
            "live": issue.live,
            "contents": [site_path(article) for article in issue.draft_contents()],
        }
        for issue in IssuePage.objects.order_by("volume", "number")
    }


def authors():
    return {
        author.slug: (author.name, author.job_title, author.bio, checksum(author.photo))
        for author in Author.objects.all()
    }


GATED_IMAGE = re.compile(r"/gated-images/(\d+)/(\d+)/")
# The article a paywall's subscribe links count their checkouts for, in a
# query string quoted once or twice.
CHECKOUT_FROM = re.compile(r"from(%3D|%253D)(\d+)")
# The price a subscribe link starts a checkout for, in a quoted next.
CHECKOUT_PRICE = re.compile(r"subscribe%2Fcheckout%2F(\d+)%2F")


def without_ids(html):
    """The page with the database ids in gated picture URLs and in the
    paywall's subscribe links replaced by what they name (the article's path,
    the picture's checksum, the price's plan and interval): ids differ from
    one install to another."""

    def named(match):
        page = ArticlePage.objects.get(pk=match.group(1))
        image = CreditedImage.objects.get(pk=match.group(2))
        return f"/gated-images/{site_path(page)}{checksum(image)}/"

    def article(match):
        return f"from{match.group(1)}{site_path(ArticlePage.objects.get(pk=match.group(2)))}"

    def price(match):
        named = Price.objects.select_related("plan").get(pk=match.group(1))
        return f"subscribe%2Fcheckout%2F{named.plan.code}-{named.interval}%2F"

    html = GATED_IMAGE.sub(named, html)
    return CHECKOUT_PRICE.sub(price, CHECKOUT_FROM.sub(article, html))


def served_pages(client, paths):
    """What an anonymous visitor gets at each path: the status and the page."""
    served = {}
    for path in paths:
        response = client.get(path)
        served[path] = (response.status_code, without_ids(response.content.decode()))
    return served


def readers():
    found = {}
    for user in get_user_model().objects.filter(is_staff=False).order_by("email"):
        address = getattr(user, "shipping_address", None)
        found[user.email] = {
            "name": user.full_name,
            "consent": (user.wants_newsletter, user.wants_issue_emails),
            "joined": iso(user.date_joined),
            "print_address": address and address.lines(),
            "subscriptions": [
                (
                    s.plan.code,
                    s.price and (s.price.interval, s.price.amount),
                    s.status,
                    s.stripe_subscription_id,
                    s.stripe_customer_id,
                    iso(s.current_period_start),
                    iso(s.current_period_end),
                    iso(s.ends_at),
                    iso(s.first_paid_at),
                    s.note,
                    s.granted_by and s.granted_by.email,
                    s.gift and (s.gift.buyer_email, s.gift.months, s.gift.status),
                )
                for s in Subscription.objects.filter(member=user).order_by("created_at")
            ],
        }
    return found


def gifts():
    return [
        (
            gift.plan.code,
            gift.months,
            gift.amount,
            gift.status,
            gift.buyer and gift.buyer.email,
            gift.recipient_email,
            gift.token_hash,
            iso(gift.paid_at),
            iso(gift.expires_at),
            gift.redeemed_by and gift.redeemed_by.email,
        )
        for gift in Gift.objects.order_by("created_at")
    ]


def snapshot(client):
    pages = article_pages()
    issues = issue_pages()
    live_paths = [path for path, page in pages.items() if page["live"]]
    served = served_pages(client, live_paths)
    client.force_login(get_user_model().objects.get(email="ada@example.com"))
    served_to_subscriber = served_pages(client, live_paths)
    client.logout()
    return {
        "articles": pages,
        "issues": issues,
        "authors": authors(),
        "served": served,
        "served_to_subscriber": served_to_subscriber,
        "readers": readers(),
        "gifts": gifts(),
        "private_images": sorted(
            checksum(image) for image in CreditedImage.objects.all() if image.is_private
        ),
    }


def empty_the_install(settings):
    """A fresh install: no rows at all, no media, nothing cached."""
    call_command("flush", interactive=False, verbosity=0)
    for root in (settings.MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT):
        shutil.rmtree(root, ignore_errors=True)
    # A new key prefix rather than cache.clear(): on Redis that would be a
    # FLUSHDB, wiping the keys of other processes sharing the database.
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "KEY_PREFIX": f"fresh-{uuid.uuid4().hex}"}
    }
    # This process's copies of cached pages belong to the old site.
    perprocess.clear_all()


@contextmanager
def stripe_watched(settings):
    """Stripe keys set and pointed at a local stand-in that records every
    request it gets: any call to Stripe in the block lands in the list."""
    requests = []

    class Recorder(BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            self.send_response(500)
            self.end_headers()

        do_POST = do_DELETE = do_GET

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    saved = settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE
    settings.STRIPE_SECRET_KEY = "sk_test_export"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_port}"
    try:
        yield requests
    finally:
        settings.STRIPE_SECRET_KEY, settings.STRIPE_API_BASE = saved
        server.shutdown()
        server.server_close()


def test_the_demo_comes_back_page_by_page_and_reader_by_reader(
    demo, readers, client, tmp_path, settings
):
    finance = SectionPage.objects.get(slug="finance")
    chart = make_image("A chart for subscribers", caption="Yields since 1990")
    gated_article = make_article(
        finance,
        title="Inside the yield curve",
        access_level="plans",
        authors=[Author.objects.get(slug="margaret-okafor")],
        body=[
            paragraph("<p>The free part.</p>"),
            ("teaser_break", None),
            paragraph("<p>The part for subscribers.</p>"),
            ("figure", {"image": chart, "caption": "", "credit": ""}),
        ],
    )
    # Only print subscribers may read it.
    gated_article.required_plans.set([Plan.objects.get(code="digital-print")])
    gated_article.save_revision().publish()
    # The worker moves pictures seen only past a teaser break to private storage.
    place_pictures(list(CreditedImage.objects.values_list("pk", flat=True)))
    before = snapshot(client)
    assert len(before["articles"]) == 4 and len(before["readers"]) == 5
    assert before["private_images"], "the demo has pictures only subscribers see"
    gated = next(path for path in before["articles"] if path.startswith("/finance/article-"))
    assert before["articles"][gated]["required_plans"] == ["digital-print"]
    assert "The part for subscribers." in before["served_to_subscriber"][gated][1]
    assert "The part for subscribers." not in before["served"][gated][1]
    assert {page["teaser_break"] is not None for page in before["articles"].values()} == {
        True,
        False,
    }

    archive = tmp_path / "magazine.zip"
    call_command("export_magazine", str(archive), verbosity=0)
    empty_the_install(settings)
    assert not ArticlePage.objects.exists() and not get_user_model().objects.exists()
    # The operator's own account comes first on a new install.
    get_user_model().objects.create_user("editor@meridian.example", is_staff=True)
    with stripe_watched(settings) as stripe_requests:
        call_command("import_masthead", str(archive), verbosity=0)
    assert stripe_requests == [], "the import never calls Stripe"

    after = snapshot(client)
    for part in before:
        assert after[part] == before[part], part
