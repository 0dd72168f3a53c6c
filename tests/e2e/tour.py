"""Every page type of the demo magazine, as each kind of reader sees it.

Shared by the accessibility test (tests/e2e/test_accessibility.py) and
`make screenshots` (scripts/screenshots.py): `build_site` puts the demo
magazine, its plans, an offer and two readers into the database; `tour`
lists the pages a reader in a given state can open; `open_reader` gives a
browser context at a given width, signed in as that reader; `walk` opens them one after another; `save_screenshot` writes a page's full-length PNG under a name that says
page type, reader state and width.
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.e2e.support import signed_in_context

STATES = ("anonymous", "free-member", "subscriber")
WIDTHS = {1280: 900, 390: 844}  # width: height of the first screen
PASSWORD = "a-long-password-1"
OFFER_CODE = "SPRING"
SEARCH_QUERY = "council"


@dataclass
class DemoSite:
    free_article: str
    gated_article: str
    issue: str
    section: str
    author: str
    readers: dict  # state: user (None for the anonymous reader)


def build_site():
    """The demo magazine with plans, an offer and a reader in each state."""
    from masthead.billing.actions import ensure_default_plans
    from masthead.billing.models import Offer, Plan, Price, Subscription
    from masthead.demo.loader import load_demo
    from masthead.demo.management.commands.load_demo_magazine import quiet_logger
    from masthead.issues.models import IssuePage
    from masthead.newsroom.models import ArticlePage
    from masthead.newsroom.site_tree import ensure_site_tree

    with quiet_logger("wagtail"):  # a line for every page created
        ensure_site_tree()
        load_demo()
    ensure_default_plans()
    offer = Offer.objects.create(
        name="Half price for spring",
        code=OFFER_CODE,
        headline="Spring: half price",
        kind=Offer.Kind.PERCENT_OFF,
        percent_off=50,
        duration=Offer.Duration.REPEATING,
        duration_in_months=3,
    )
    offer.prices.set(Price.objects.filter(plan__code="digital"))
    users = get_user_model().objects
    free_member = users.create_user(
        email="free.reader@example.com", password=PASSWORD, full_name="Frances Free"
    )
    subscriber = users.create_user(
        email="subscriber@example.com", password=PASSWORD, full_name="Simone Subscriber"
    )
    plan = Plan.objects.get(code="digital")
    Subscription.objects.create(
        member=subscriber,
        plan=plan,
        price=plan.prices.get(interval="month"),
        status="active",
        current_period_end=timezone.now() + timedelta(days=20),
    )
    articles = ArticlePage.objects.live().order_by("-first_published_at")
    free = next(a for a in articles if a.effective_access_level == "public")
    gated = next(a for a in articles if a.effective_access_level == "subscribers")
    return DemoSite(
        free_article=free.url,
        gated_article=gated.url,
        issue=IssuePage.objects.live().order_by("-cover_date").first().url,
        section=free.get_parent().url,
        author=f"/authors/{free.authors[0].slug}/",
        readers={"anonymous": None, "free-member": free_member, "subscriber": subscriber},
    )


def tour(site, state):
    """(page type, path) for each page a reader in `state` can open."""
    pages = [
        ("home", "/"),
        ("section", site.section),
        ("issue", site.issue),
        ("archive", "/issues/"),
        ("article-free", site.free_article),
        ("article-gated", site.gated_article),
        ("author", site.author),
        ("search", f"/search/?q={SEARCH_QUERY}"),
        ("subscribe", "/subscribe/"),
        ("offer", f"/offer/{OFFER_CODE}/"),
        ("gift", "/gift/"),
        ("not-found", "/no-such-page/"),
    ]
    if state == "anonymous":
        pages += [("sign-in", "/account/sign-in/"), ("sign-up", "/account/sign-up/")]
    else:
        pages += [("account", "/account/"), ("podcast", "/audio/podcast/")]
    return pages


def open_reader(browser, base_url, user, width):
    """A browser context `width` pixels wide, signed in as `user` (None: nobody)."""
    options = {
        "viewport": {"width": width, "height": WIDTHS[width]},
        "is_mobile": width < 600,
        "has_touch": width < 600,
    }
    if user is None:
        return browser.new_context(**options)
    return signed_in_context(browser, base_url, user, **options)


def walk(browser, base_url, site, state, width, page_types=None):
    """Open each page of `state`'s tour in turn (or those of `page_types`),
    `width` pixels wide.

    Yields (page type, path, response, page) with the page loaded.
    """
    context = open_reader(browser, base_url, site.readers[state], width)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        for page_type, path in tour(site, state):
            if page_types and page_type not in page_types:
                continue
            response = page.goto(base_url + path)
            yield page_type, path, response, page
    finally:
        context.close()


def save_screenshot(page, folder, page_type, state, width):
    path = Path(folder) / f"{page_type}--{state}--{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
