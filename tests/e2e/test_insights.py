"""Staff open the Insights dashboard and a member's page in a browser: the
MRR chart is drawn from the numbers in its table, the CSV downloads, and the
member's timeline and access reason show.

The history (tests/insights/history.py) lies in the first half of 2026, so
the months asked for are all past: no clock needs freezing in the live
server.
"""

import csv

import pytest

from tests.e2e.test_publish_issue import signed_in_context
from tests.insights.history import build_history

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(transactional_db, settings):
    settings.PUBLISHER_TIME_ZONE = "UTC"
    from django.contrib.auth import get_user_model

    history = build_history()
    history["staff"] = get_user_model().objects.create_superuser(email="editor@example.com")
    return history


def test_dashboard_chart_table_csv_and_a_members_page(live_server, browser, shop, tmp_path):
    context = signed_in_context(browser, live_server, shop["staff"])
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{live_server.url}/admin/insights/?start=2026-01-01&end=2026-06-30")
    page.wait_for_selector('canvas[data-chart="mrr"][data-drawn="true"]')
    table = page.locator('table[data-table="mrr"] tbody tr').evaluate_all(
        "rows => rows.map(row => Array.from(row.cells).map(cell => cell.textContent.trim()))"
    )
    assert table[:4] == [
        ["2026-01", "0.0", "26.0"],
        ["2026-02", "0.0", "34.0"],
        ["2026-03", "7.0", "41.0"],
        ["2026-04", "0.0", "41.0"],
    ]
    drawn = page.locator('canvas[data-chart="mrr"]').evaluate(
        "canvas => ({labels: canvas.insightsChart.data.labels,"
        " usd: canvas.insightsChart.data.datasets[1].data})"
    )
    assert drawn["labels"][:4] == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert drawn["usd"][:4] == [26.0, 34.0, 41.0, 41.0]
    # The canvas really has pixels on it.
    assert page.locator('canvas[data-chart="mrr"]').bounding_box()["height"] > 50

    with page.expect_download() as download_info:
        page.locator("#chart-mrr").get_by_role("link", name="Download CSV").click()
    path = tmp_path / "mrr.csv"
    download_info.value.save_as(path)
    rows = list(csv.reader(path.open()))
    assert rows[0] == ["Month", "MRR (EUR)", "MRR (USD)"]
    assert rows[3] == ["2026-03", "7.0", "41.0"]

    dora = shop["people"]["D"]
    page.goto(f"{live_server.url}/admin/members/?q=dora")
    page.get_by_role("link", name="dora@example.com").click()
    page.wait_for_url(f"**/admin/members/{dora.pk}/")
    assert page.locator(".member-status").text_content().strip() == "Refunded"
    assert "subscription-required" in page.locator(".member-access").text_content()
    timeline = page.locator(".member-timeline").text_content()
    assert "Refund refunded: €7.00" in timeline and "Paid €7.00" in timeline
    context.close()
