"""An editor writes a mailing in the Wagtail admin, previews it as a free
member, sends a test to herself and sends it; a reader unsubscribes from the
link in the email that reached the SMTP server.

The live server runs in this process: billing's entitlements are faked
(tests.issues.support.FakeBilling) and the batches run inline on commit,
sending to an aiosmtpd server started by the test.
"""

import re
from email import message_from_bytes
from email.policy import default

import pytest
from playwright.sync_api import expect

from masthead.mailings import actions
from masthead.mailings.models import Mailing, Newsletter, NewsletterSubscription
from masthead.newsroom.site_tree import ensure_site_tree
from tests.e2e import support
from tests.issues.support import FakeBilling, make_member
from tests.mailings.conftest import smtp_server  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

FREE_PART = "The editors open this week with the harbour."
GATED_PART = "Only subscribers read what the harbour master said."


def signed_in_context(browser, live_server, user):
    return support.signed_in_context(
        browser, live_server.url, user, viewport={"width": 1280, "height": 900}
    )


def received(server):
    return [message_from_bytes(raw, policy=default) for raw in server.messages]


def html_of(message):
    return message.get_body(preferencelist=("html",)).get_content()


def write_paragraph(page, text):
    page.locator('[role="textbox"][contenteditable="true"]').last.fill(text)
    # Draftail copies what is typed to the form's hidden input a moment later.
    page.wait_for_function(
        "text => [...document.querySelectorAll('input[type=hidden]')]"
        ".some(input => input.value.includes(text))",
        arg=text,
    )


def add_block(page, name):
    # Wait for the new block (and a paragraph's editor), so the next step
    # finds it, not the block before.
    children = page.locator("[data-streamfield-child]")
    editors = page.locator('[role="textbox"][contenteditable="true"]')
    blocks, paragraphs = children.count(), editors.count()
    page.get_by_role("button", name="Insert a block").last.click()
    page.get_by_role("option", name=name, exact=True).click()
    expect(children).to_have_count(blocks + 1)
    if name == "Paragraph":
        expect(editors).to_have_count(paragraphs + 1)


def test_an_editor_sends_a_mailing_and_a_reader_unsubscribes_from_it(
    live_server,
    browser,
    smtp_server,  # noqa: F811
    transactional_db,
    monkeypatch,
    settings,
):
    ensure_site_tree()
    settings.SITE_URL = live_server.url
    billing = FakeBilling(monkeypatch)
    letter = Newsletter.objects.create(name="Weekly letter", slug="weekly")
    editor = make_member("editor@example.com", is_staff=True, is_superuser=True)
    reader = make_member("reader@example.com", full_name="Rita Reader")
    subscriber = make_member("sub@example.com", full_name="Sam Subscriber")
    billing.subscribe(subscriber)
    for member in (reader, subscriber):
        actions.set_newsletter_consent(member, letter, True, NewsletterSubscription.Source.ACCOUNT)

    # The editor writes the mailing: a free paragraph, the teaser break,
    # a paragraph for subscribers.
    context = signed_in_context(browser, live_server, editor)
    page = context.new_page()
    page.set_default_timeout(60_000)
    # Pages are ready at DOMContentLoaded: "load" also waits for the admin's
    # avatar image from outside, which a test machine may never get.
    page.goto(
        f"{live_server.url}/admin/snippets/mailings/mailing/add/", wait_until="domcontentloaded"
    )
    page.get_by_role("button", name="Choose newsletter").click()
    page.locator(".modal").get_by_role("link", name="Weekly letter").click()
    page.locator("#id_subject").fill("The harbour issue")
    add_block(page, "Paragraph")
    write_paragraph(page, FREE_PART)
    add_block(page, "Teaser break")
    add_block(page, "Paragraph")
    write_paragraph(page, GATED_PART)
    page.get_by_role("button", name="Save").first.click()
    # Whatever the admin answers (created, or the form's errors) is in its
    # messages: a refusal fails here, saying why.
    page.locator(".messages li").first.wait_for()
    answer = page.locator(".messages").inner_text() + " ".join(
        page.locator(".error-message, .w-field__errors, .help-critical").all_inner_texts()
    )
    assert "Mailing 'The harbour issue' created." in answer, answer
    mailing = Mailing.objects.get(subject="The harbour issue")

    # Preview as a free member: the free part, nothing gated.
    page.get_by_role("link", name="Preview, test and send").click()
    page.get_by_role("heading", name="Preview").wait_for()
    with context.expect_page() as preview_opened:
        page.get_by_role("link", name=re.compile("free member")).click()
    preview = preview_opened.value
    preview.wait_for_load_state("domcontentloaded")
    assert FREE_PART in preview.content()
    assert GATED_PART not in preview.content()
    preview.close()

    # A test to the editor, as a free member receives it.
    page.get_by_role("button", name="Send a test to me").click()
    page.get_by_text("Test sent to editor@example.com").wait_for()
    [test] = received(smtp_server)
    assert test["To"] == "editor@example.com"
    assert test["Subject"] == "[Test: teaser] The harbour issue"
    assert FREE_PART in html_of(test) and GATED_PART not in html_of(test)

    # Sent: each reader gets what the access rule grants them.
    page.get_by_role("button", name="Send now").click()
    page.get_by_text("Sending to 2 recipient(s).").wait_for()
    assert page.locator('[data-figure="sent"]').inner_text() == "2"
    context.close()
    mailed = {message["To"]: message for message in received(smtp_server)[1:]}
    assert sorted(mailed) == ["reader@example.com", "sub@example.com"]
    assert GATED_PART in html_of(mailed["sub@example.com"])
    assert GATED_PART not in html_of(mailed["reader@example.com"])

    # The reader follows the unsubscribe link in the email's footer, signed
    # out: a page with a button, and only the button unsubscribes.
    link = re.search(r'href="([^"]*/newsletters/unsubscribe/[^"]*)"', html_of(mailed[reader.email]))
    reader_context = browser.new_context()
    page = reader_context.new_page()
    page.goto(link.group(1).replace("&amp;", "&"), wait_until="domcontentloaded")
    page.get_by_role("heading", name="Unsubscribe from Weekly letter?").wait_for()
    choice = NewsletterSubscription.objects.get(member=reader, newsletter=letter)
    assert choice.subscribed
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You're unsubscribed").wait_for()
    reader_context.close()
    choice.refresh_from_db()
    assert not choice.subscribed
    assert NewsletterSubscription.objects.get(member=subscriber, newsletter=letter).subscribed
    assert mailing.deliveries.get(email=reader.email).unsubscribed_at is not None
