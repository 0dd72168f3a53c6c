"""Newsletters sent to a real SMTP server (aiosmtpd) started here, and read
back with Python's email package: headers, MIME structure, the access cut
per recipient, one-click unsubscribe, double opt-in, bounces."""

import base64
import json
from email import message_from_bytes
from email.policy import default

import pytest
from django.test import Client

from masthead.core.email import send_email
from masthead.mailings import actions
from masthead.mailings.models import (
    Delivery,
    Mailing,
    Newsletter,
    NewsletterSubscription,
    SignUpConfirmation,
    Suppression,
)
from tests.issues.support import make_member
from tests.mailings.conftest import FREE_PART, GATED_PART


def subscribe(member, newsletter):
    actions.set_newsletter_consent(member, newsletter, True, NewsletterSubscription.Source.ACCOUNT)


def send(mailing, capture):
    with capture(execute=True):
        actions.start_mailing(mailing)
    mailing.refresh_from_db()


def parsed(server):
    return {
        message["To"]: message
        for message in (message_from_bytes(raw, policy=default) for raw in server.messages)
    }


def parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_each_reader_gets_what_the_rule_grants_with_bulk_headers(
    smtp_server, mailing, letter, billing, django_capture_on_commit_callbacks, settings
):
    subscriber = make_member("sub@example.com", full_name="Sam Subscriber")
    billing.subscribe(subscriber)
    free = make_member("free@example.com", full_name="Fay Free")
    not_chosen = make_member("other@example.com")
    for member in (subscriber, free):
        subscribe(member, letter)

    send(mailing, django_capture_on_commit_callbacks)

    assert mailing.status == Mailing.Status.SENT
    messages = parsed(smtp_server)
    assert sorted(messages) == ["free@example.com", "sub@example.com"]
    for raw in smtp_server.messages:
        # The URL as it is, not RFC 2047 encoded words that no provider reads.
        assert f"\r\nList-Unsubscribe: <{settings.SITE_URL}/newsletters/".encode() in raw
    assert not_chosen.email not in messages
    for address, message in messages.items():
        assert message.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in message.iter_parts()] == [
            "text/plain",
            "text/html",
        ]
        assert message["Subject"] == "This week"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].startswith(f"<{settings.SITE_URL}/newsletters/")
        assert message["List-Id"] == '"Weekly letter" <weekly.localhost>'
        assert message["Feedback-ID"].startswith(f"{mailing.pk}:weekly:newsletter:")
        assert message["Date"]
        delivery = Delivery.objects.get(mailing=mailing, email=address)
        assert message["Message-ID"] == delivery.message_id
        assert delivery.state == Delivery.State.SENT and delivery.reply.startswith("250")
        text, html = parts(message)
        assert FREE_PART in text and FREE_PART in html
        assert "View in your browser" in html and "style=" in html  # CSS inlined
        assert f"{settings.SITE_URL}/newsletters/m/{mailing.pk}/" in text
    sub_text, sub_html = parts(messages["sub@example.com"])
    assert GATED_PART in sub_text and GATED_PART in sub_html
    assert "Sam Subscriber" in sub_html and "Subscribe to read it all" not in sub_html
    free_text, free_html = parts(messages["free@example.com"])
    assert GATED_PART not in free_text and GATED_PART not in free_html
    assert "Subscribe to read it all" in free_html
    assert len({m["Message-ID"] for m in messages.values()}) == 2


def test_one_click_unsubscribe_by_post_and_a_get_changes_nothing(
    smtp_server, mailing, letter, billing, django_capture_on_commit_callbacks
):
    reader = make_member("reader@example.com")
    subscribe(reader, letter)
    other = Newsletter.objects.create(name="Alerts", slug="alerts")
    subscribe(reader, other)
    send(mailing, django_capture_on_commit_callbacks)
    message = parsed(smtp_server)["reader@example.com"]
    url = message["List-Unsubscribe"].split(",")[0].strip("<>")
    path = url.split("localhost:8000", 1)[-1].split("127.0.0.1:8000", 1)[-1]

    client = Client(enforce_csrf_checks=True)
    page = client.get(path)
    assert page.status_code == 200 and b"<form" in page.content
    choice = NewsletterSubscription.objects.get(member=reader, newsletter=letter)
    assert choice.subscribed  # a scanner's GET unsubscribes no one

    answer = client.post(path, "List-Unsubscribe=One-Click", content_type="text/plain")
    assert answer.status_code == 200
    choice.refresh_from_db()
    assert not choice.subscribed
    assert NewsletterSubscription.objects.get(member=reader, newsletter=other).subscribed
    delivery = Delivery.objects.get(mailing=mailing, email="reader@example.com")
    assert delivery.unsubscribed_at is not None
    assert client.post(path[:-3] + "xx/").status_code == 404  # a forged token


def test_double_opt_in_makes_a_free_member_only_on_post(
    db, site_tree, letter, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            "/newsletters/sign-up/", {"email": "New@Example.com", "newsletter": "weekly"}
        )
    assert answer.status_code == 302
    [message] = mailoutbox
    link = next(line for line in message.body.splitlines() if "/newsletters/confirm/" in line)
    path = "/newsletters/confirm/" + link.split("/newsletters/confirm/")[1]
    from django.contrib.auth import get_user_model

    users = get_user_model().objects
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200  # a scanner may fetch it twice
    assert not users.filter(email="new@example.com").exists()
    assert client.post(path).status_code == 200
    member = users.get(email="new@example.com")
    assert NewsletterSubscription.objects.get(member=member, newsletter=letter).subscribed
    assert client.post(path).status_code == 410  # single use
    assert SignUpConfirmation.objects.get().used_at is not None


def test_sign_up_is_rate_limited_like_sign_in(
    db, site_tree, letter, mailoutbox, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        codes = [
            client.post(
                "/newsletters/sign-up/", {"email": "flood@example.com", "newsletter": "weekly"}
            ).status_code
            for _ in range(6)
        ]
    assert codes == [302] * 5 + [429]
    assert len(mailoutbox) == 1  # one link a minute to one address


def postmark_bounce(email, message_id, kind="HardBounce"):
    # Postmark's bounce webhook payload (postmarkapp.com/developer/webhooks/bounce-webhook).
    return {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": message_id,
        "Metadata": {},
        "ServerID": 23,
        "MessageStream": "broadcast",
        "Description": "The server was unable to deliver your message (ex: unknown user).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": email,
        "From": "newsletters@example.com",
        "BouncedAt": "2026-12-04T16:33:54.9070259Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "This week",
        "Content": "",
    }


def test_a_hard_bounce_webhook_suppresses_the_address_from_bulk_mail_only(
    smtp_server, mailing, letter, billing, django_capture_on_commit_callbacks, settings, mailoutbox
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    gone = make_member("gone@example.com")
    stays = make_member("stays@example.com")
    for member in (gone, stays):
        subscribe(member, letter)
    send(mailing, django_capture_on_commit_callbacks)
    url = "/newsletters/webhooks/postmark/tracking/"
    delivery = Delivery.objects.get(mailing=mailing, email="gone@example.com")
    body = json.dumps(postmark_bounce("gone@example.com", delivery.provider_message_id))
    client = Client()
    assert client.post(url, body, content_type="application/json").status_code == 400
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    answer = client.post(url, body, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert answer.status_code == 200
    suppression = Suppression.objects.get(email="gone@example.com")
    assert suppression.reason == Suppression.Reason.HARD_BOUNCE
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.BOUNCED

    second = Mailing.objects.create(newsletter=letter, subject="Next week", body=[])
    smtp_server.messages.clear()
    send(second, django_capture_on_commit_callbacks)
    assert sorted(parsed(smtp_server)) == ["stays@example.com"]

    # Transactional mail still goes to a bounced address.
    with django_capture_on_commit_callbacks(execute=True):
        send_email("account_sign_in_link", "gone@example.com", {"link": "x"})
    assert [m.to for m in mailoutbox] == [["gone@example.com"]]

    actions.lift_suppression(suppression)
    third = Mailing.objects.create(newsletter=letter, subject="Later", body=[])
    smtp_server.messages.clear()
    send(third, django_capture_on_commit_callbacks)
    assert sorted(parsed(smtp_server)) == ["gone@example.com", "stays@example.com"]


@pytest.mark.parametrize("pipelining", [False, True], ids=["one-by-one", "pipelined"])
def test_a_permanent_refusal_at_send_time_marks_the_address(
    smtp_server, letter, billing, django_capture_on_commit_callbacks, pipelining
):
    smtp_server.pipelining = pipelining
    smtp_server.refuse.add("nobody@example.com")
    for email in ("nobody@example.com", "somebody@example.com", "another@example.com"):
        subscribe(make_member(email), letter)
    # A line of the plain text that starts with a dot: SMTP doubles it on the
    # way and the server takes one off.
    mailing = Mailing.objects.create(
        newsletter=letter, subject="Dots", body=[("paragraph", "<p>.Leading dot</p>")]
    )
    send(mailing, django_capture_on_commit_callbacks)
    refused = Delivery.objects.get(mailing=mailing, email="nobody@example.com")
    assert refused.state == Delivery.State.FAILED and "550" in refused.reply
    assert Suppression.objects.filter(email="nobody@example.com", lifted_at=None).exists()
    arrived = parsed(smtp_server)
    assert sorted(arrived) == ["another@example.com", "somebody@example.com"]
    for message in arrived.values():
        text, _html = parts(message)
        assert ".Leading dot" in text.splitlines()
    sent = Delivery.objects.filter(mailing=mailing, state=Delivery.State.SENT)
    assert sent.count() == 2
    assert all(delivery.provider_message_id for delivery in sent)  # the reply was read
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT


def test_a_paused_mailing_sends_nothing_until_resumed_and_a_cancelled_one_never(
    smtp_server, mailing, letter, billing, django_capture_on_commit_callbacks, settings
):
    settings.NEWSLETTER_BATCH_SIZE = 2
    for n in range(5):
        subscribe(make_member(f"r{n}@example.com"), letter)
    with django_capture_on_commit_callbacks(execute=False) as batches:
        actions.start_mailing(mailing)
    assert len(batches) == 3
    actions.pause_mailing(mailing)
    for callback in batches:
        callback()
    assert smtp_server.messages == []
    with django_capture_on_commit_callbacks(execute=True):
        actions.resume_mailing(mailing)
    assert len(parsed(smtp_server)) == 5
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT

    later = Mailing.objects.create(newsletter=letter, subject="Cancelled", body=[])
    with django_capture_on_commit_callbacks(execute=False) as batches:
        actions.start_mailing(later)
    actions.cancel_mailing(later)
    for callback in batches:
        callback()
    assert len(smtp_server.messages) == 5
    assert not Delivery.objects.filter(mailing=later, state=Delivery.State.PENDING).exists()
