"""A signed-in reader without a subscription buys one issue on its own in
test mode, in chromium: the issue page offers it, the test checkout takes a
test card (after declining the decline card), and back on the issue page the
EPUB downloads; the issue's article is theirs in full."""

import pytest

from masthead.access.rules import decide
from masthead.billing.models import BillingSettings, IssuePurchase, Payment
from masthead.newsroom.models import SectionPage
from tests.access.support import add_edition
from tests.e2e.support import signed_in_context
from tests.factories import make_article, make_issue, paragraph
from tests.issues.support import make_member

GATED = "Only buyers learn where the amber ledger is kept."


@pytest.mark.e2e
def test_buy_a_single_issue_and_download_its_epub(
    transactional_db, site_tree, live_server, settings, browser, screenshots_dir
):
    settings.SITE_URL = live_server.url
    settings.STRIPE_SECRET_KEY = ""  # test mode: the local checkout
    billing_settings = BillingSettings.load()
    billing_settings.single_issue_price = 600
    billing_settings.save()
    article = make_article(
        SectionPage.objects.get(slug="finance"),
        title="The ledger",
        access_level="subscribers",
        body=[
            paragraph("<p>How the ledger opens.</p>"),
            ("teaser_break", None),
            paragraph(f"<p>{GATED}</p>"),
        ],
    )
    issue = make_issue([article], number=41, title="The Ledger Issue")
    add_edition(issue)
    member = make_member("issue.buyer@example.com", full_name="Issue Buyer")
    context = signed_in_context(
        browser,
        live_server.url,
        member,
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(20_000)

    page.goto(live_server.url + issue.url)
    assert page.get_by_role("link", name="EPUB").count() == 0
    page.get_by_role("link", name="Buy this issue for $6.00").click()
    page.get_by_text("Test checkout: no real payment is taken.").wait_for()
    page.get_by_role("heading", name="The Ledger Issue").wait_for()
    page.get_by_label("Card number").fill("4000 0000 0000 0002")
    page.get_by_label("Expiry (MM / YY)").fill("12 / 34")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $6.00").click()
    assert page.get_by_role("alert").inner_text() == "Your card was declined."
    assert not decide(member, issue)

    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay $6.00").click()
    # Back on the issue, now the reader's: its editions download.
    epub = page.get_by_role("link", name="EPUB")
    epub.wait_for()
    assert page.url == live_server.url + issue.url
    assert page.get_by_role("link", name="Buy this issue for $6.00").count() == 0
    page.screenshot(path=screenshots_dir / "single_issue_bought.png", full_page=True)
    with page.expect_download() as download_info:
        epub.click()
    download = download_info.value
    assert download.suggested_filename.endswith(".epub")
    with open(download.path(), "rb") as downloaded:
        assert downloaded.read() == b"PK edition of the issue"

    purchase = IssuePurchase.objects.get(member=member)
    assert (purchase.status, purchase.issue_id) == ("paid", issue.pk)
    assert Payment.objects.get(issue_purchase=purchase).amount == 600
    page.goto(live_server.url + article.url)
    assert GATED in page.content()
    context.close()
