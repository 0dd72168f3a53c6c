"""Two app servers and one worker sharing a database and a cache: what one
server does, the other honours.

With DATABASE_URL on PostgreSQL and REDIS_URL set this is the scale-out
configuration (Redis cache, RQ worker). On SQLite the same test runs against
two granian servers sharing the SQLite file and the file cache, with the
database queue's worker, so it always runs.
"""

import re
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.scaleout import support

# How long a server process trusts its copy of the publish generation: the
# servers run with the test settings, as this process does.
GENERATION_TTL = settings.SERVING_PER_PROCESS_SECONDS

pytestmark = pytest.mark.django_db(transaction=True)

CARD = {"card_number": "4242 4242 4242 4242", "expiry": "12 / 34", "cvc": "123"}
CORRECTION = "An earlier version of this article misstated the date of the talks."

PUBLISH_CORRECTION = """
import time
from masthead.newsroom.models import ArticlePage
article = ArticlePage.objects.get(pk={pk})
article.correction = {correction!r}
article.save_revision().publish()
print("published_at", time.time())
"""


def gated_paragraph(article):
    number = article.slug.rsplit("-", 1)[1]
    return f"Third paragraph of article {number}."


@pytest.fixture
def cluster(magazine, tmp_path, django_user_model, client):
    """Servers A and B, a worker, and a signed-in reader without a subscription."""
    from masthead.billing.actions import ensure_default_plans
    from masthead.billing.models import Price

    ensure_default_plans()
    reader = django_user_model.objects.create_user(email="reader@example.org", password="pw-1")
    client.force_login(reader)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    price = Price.objects.get(plan__code="digital", interval="month")

    database = support.SharedDatabase(tmp_path)
    database.publish()
    scale_out = bool(settings.REDIS_URL)
    env = support.process_env(
        tmp_path,
        database,
        TASKS_BACKEND="rq" if scale_out else "database",
        PAGE_CACHE_SECONDS=300,
        STRIPE_SECRET_KEY="",
        STRIPE_WEBHOOK_SECRET="",
    )
    a = support.AppServer(env, tmp_path / "server-a.log")
    b = support.AppServer(env, tmp_path / "server-b.log")
    worker = (support.rq_worker if scale_out else support.db_worker)(env, tmp_path / "worker.log")
    processes = [a, b, worker]
    try:
        a.wait_ready()
        b.wait_ready()
        yield {
            "a": a,
            "b": b,
            "worker": worker,
            "env": env,
            "folder": tmp_path,
            "session": session,
            "price": price,
            "magazine": magazine,
        }
    finally:
        for process in processes:
            process.stop()
        if "CACHE_KEY_PREFIX" in env:
            support.forget_redis_keys(f"{env['CACHE_KEY_PREFIX']}:*", f"{env['RQ_KEY_PREFIX']}:*")


def subscribe_through(server, session, price):
    """The test-mode checkout, over HTTP, as a reader does it."""
    browser = support.Browser(server, {settings.SESSION_COOKIE_NAME: session})
    status, _, _ = browser.get("/subscribe/")
    assert status == 200
    assert browser.cookies.get("csrftoken"), "the subscribe page sets a CSRF cookie"
    status, headers, body = browser.post(f"/subscribe/checkout/{price.pk}/", {})
    assert status == 303, body[:500]
    checkout = headers["location"]
    assert checkout.startswith("/billing/test-checkout/")
    status, headers, body = browser.post(checkout, CARD)
    assert status == 302, body[:1000]
    status, _, body = browser.get(headers["location"])  # the success page fulfils too
    assert status == 200, body[:500]


def anonymous_get(server, path):
    return support.Browser(server).get(path)


def test_a_subscription_made_on_one_server_is_honoured_by_the_other(cluster):
    a, b = cluster["a"], cluster["b"]
    gated = cluster["magazine"]["gated"]
    reader_on_b = support.Browser(b, {settings.SESSION_COOKIE_NAME: cluster["session"]})
    full_text = gated_paragraph(gated)

    status, headers, body = reader_on_b.get(gated.url)
    assert status == 200
    assert full_text not in body  # signed in, not subscribed: the teaser only

    subscribe_through(a, cluster["session"], cluster["price"])

    status, headers, body = reader_on_b.get(gated.url)
    assert status == 200
    assert full_text in body  # server B knows about the subscription made on A
    assert "x-page-cache" not in headers
    assert "private" in headers["cache-control"]
    status, _, anonymous = anonymous_get(b, gated.url)
    assert full_text not in anonymous

    # The worker sent the welcome email that server A queued.
    mail = cluster["folder"] / "mail"
    support.wait_until(
        lambda: (
            mail.exists()
            and any(
                "reader@example.org" in path.read_text(errors="replace") for path in mail.iterdir()
            )
        ),
        60,
        message=lambda: f"welcome email sent by the worker\n{cluster['worker'].output()}",
    )


def test_publishing_refreshes_the_cached_page_on_every_server(cluster):
    a, b = cluster["a"], cluster["b"]
    article = cluster["magazine"]["free"]
    for server in (a, b):
        anonymous_get(server, article.url)
        status, headers, body = anonymous_get(server, article.url)
        assert status == 200
        assert headers.get("x-page-cache") == "hit"
        assert CORRECTION not in body

    output = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            PUBLISH_CORRECTION.format(pk=article.pk, correction=CORRECTION),
        ],
        cwd=support.REPO,
        env=cluster["env"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert output.returncode == 0, output.stderr[-3000:]
    published_at = float(re.search(r"published_at ([\d.]+)", output.stdout).group(1))

    # Any request made once GENERATION_TTL has passed since the publish gets
    # the new page, from either server, however long rendering it takes.
    time.sleep(max(0.0, published_at + GENERATION_TTL - time.time()))
    for server in (a, b):
        asked_at = time.time()
        status, headers, body = anonymous_get(server, article.url)
        assert status == 200
        assert CORRECTION in body, f"{server.url} still serves the page from before the publish"
        assert headers.get("x-page-cache") != "hit"
        print(
            f"{server.url}: new page {asked_at - published_at:.2f}s after publishing, "
            f"rendered in {time.time() - asked_at:.2f}s"
        )
    # And the new page is cached again, on both.
    for server in (a, b):
        status, headers, body = anonymous_get(server, article.url)
        assert CORRECTION in body
        assert headers.get("x-page-cache") == "hit"


SLOW_COMMIT = """
import time
from django.db import transaction
from masthead.newsroom.models import ArticlePage
article = ArticlePage.objects.get(pk={pk})
with transaction.atomic():  # as Wagtail's edit view publishes
    article.correction = {correction!r}
    article.save_revision().publish()
    print("published, not committed", flush=True)
    time.sleep(2)  # the rest of the edit view's work, before the commit
print("committed_at", time.time(), flush=True)
"""


def test_a_page_rendered_while_the_publish_commits_is_not_kept(cluster):
    a = cluster["a"]
    article = cluster["magazine"]["free"]
    editor = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            SLOW_COMMIT.format(pk=article.pk, correction=CORRECTION),
        ],
        cwd=support.REPO,
        env=cluster["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def line_starting(prefix):
        for line in editor.stdout:  # `shell` prints a banner first
            if line.startswith(prefix):
                return line
        raise AssertionError(f"the editor's process ended: {editor.stderr.read()[-2000:]}")

    try:
        line_starting("published, not committed")
        time.sleep(GENERATION_TTL + 0.1)
        assert CORRECTION not in anonymous_get(a, article.url)[2]  # not committed yet
        committed_at = float(line_starting("committed_at").split()[1])
    finally:
        editor.wait(60)
    time.sleep(max(0.0, committed_at + GENERATION_TTL - time.time()))
    status, headers, body = anonymous_get(a, article.url)
    assert CORRECTION in body, (
        f"stale after the commit (X-Page-Cache: {headers.get('x-page-cache')})"
    )
