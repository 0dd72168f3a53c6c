"""A reader's walk through the magazine in a real browser."""

import pytest

from masthead.newsroom.site_tree import ensure_site_tree
from tests.factories import build_magazine

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(transactional_db):
    return build_magazine(ensure_site_tree())


def test_home_issue_article_author_section_archive_search(
    live_server, browser_page, published, screenshots_dir
):
    page = browser_page
    page.goto(live_server.url + "/")
    assert page.title().startswith("The Meridian Review")

    # Home → the current issue.
    page.get_by_role("link", name=published["issue"].title).first.click()
    page.wait_for_url(f"**{published['issue'].url}")
    assert page.locator("h1").inner_text() == published["issue"].title
    assert "Vol. 12, No. 22" in page.locator(".kicker").first.text_content()

    # Issue → an article in its contents.
    page.locator(".issue__contents").get_by_role("link", name="Border talks resume").click()
    page.wait_for_url(f"**{published['free'].url}")
    assert page.locator("h1").inner_text() == "Border talks resume"
    lead = page.locator(".article__lead img")
    assert lead.get_attribute("alt")
    assert page.locator(".article__lead figcaption .credit").text_content() == "Test Images"
    page.screenshot(path=str(screenshots_dir / "article.png"), full_page=True)

    # Article → its author's page (keyboard: focus the byline link and press Enter).
    byline = page.locator(".article__byline a").first
    byline.focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/authors/**")
    assert page.locator("h1").inner_text() == "Ana Peña"
    assert page.get_by_role("link", name="Border talks resume").count() == 1

    # Section front from the site navigation.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Finance").click()
    page.wait_for_url("**/finance/")
    assert page.get_by_role("link", name="The bond market blinks").count() == 1

    # The archive lists both issues by year.
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Archive").click()
    page.wait_for_url("**/issues/")
    years = page.locator(".archive-year h2").all_inner_texts()
    assert len(years) == 2
    assert page.get_by_text(published["older_issue"].title, exact=True).count() == 1

    # Search from the header.
    page.locator("#site-search-q").fill("bond market")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=bond+market")
    results = page.locator(".search-results h2").all_inner_texts()
    assert results == ["The bond market blinks"]


def test_article_reads_well_on_a_phone(live_server, browser, published, screenshots_dir):
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.goto(live_server.url + published["free"].url)
    # Nothing overflows sideways on a narrow screen.
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
    page.screenshot(path=str(screenshots_dir / "article-phone.png"), full_page=True)
    context.close()
