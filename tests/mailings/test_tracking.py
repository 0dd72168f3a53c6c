"""Provider webhooks name a message, and the delivery that message was is
the one marked: by the id the provider gave it in its SMTP reply (Postmark's
MessageID) or by the Message-ID header Masthead gave it (Mailgun passes that
back). An address alone is the last resort."""

import base64
import json

from anymail.signals import AnymailTrackingEvent, tracking
from django.test import Client

from masthead.mailings import actions
from masthead.mailings.models import Delivery, Mailing, NewsletterSubscription, Suppression
from tests.issues.support import make_member
from tests.mailings.test_newsletters import postmark_bounce

WEBHOOK = "/newsletters/webhooks/postmark/tracking/"


def post_postmark(payload):
    auth = "Basic " + base64.b64encode(b"hook:s3cret").decode()
    return Client().post(
        WEBHOOK, json.dumps(payload), content_type="application/json", HTTP_AUTHORIZATION=auth
    )


def two_mailings_to(reader, letter, capture):
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    first = Mailing.objects.create(newsletter=letter, subject="First", body=[])
    second = Mailing.objects.create(newsletter=letter, subject="Second", body=[])
    for mailing in (first, second):
        with capture(execute=True):
            actions.start_mailing(mailing)
    return (
        Delivery.objects.get(mailing=first, email=reader.email),
        Delivery.objects.get(mailing=second, email=reader.email),
    )


def test_a_bounce_marks_the_delivery_its_provider_id_names_not_the_latest(
    smtp_server, letter, django_capture_on_commit_callbacks, settings
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    reader = make_member("reader@example.com")
    first, second = two_mailings_to(reader, letter, django_capture_on_commit_callbacks)
    assert first.provider_message_id and first.provider_message_id in first.reply
    assert first.provider_message_id != second.provider_message_id

    # A soft bounce of the older message: that delivery only, no suppression.
    answer = post_postmark(
        postmark_bounce(reader.email, first.provider_message_id, kind="SoftBounce")
    )
    assert answer.status_code == 200
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == Delivery.State.BOUNCED
    assert second.state == Delivery.State.SENT
    assert not Suppression.objects.filter(email=reader.email).exists()


def test_a_complaint_is_matched_by_the_message_id_header(
    smtp_server, letter, django_capture_on_commit_callbacks
):
    reader = make_member("reader@example.com")
    first, second = two_mailings_to(reader, letter, django_capture_on_commit_callbacks)
    # Mailgun's tracking events carry the message's own Message-ID header.
    event = AnymailTrackingEvent(
        event_type="complained", recipient=reader.email, message_id=first.message_id
    )
    tracking.send(sender=object, event=event, esp_name="Mailgun")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (Delivery.State.COMPLAINED, Delivery.State.SENT)
    assert Suppression.objects.get(email=reader.email).reason == Suppression.Reason.COMPLAINT

    # Without brackets, as some providers write it.
    tracking.send(
        sender=object,
        event=AnymailTrackingEvent(
            event_type="delivered", recipient=reader.email, message_id=second.message_id[1:-1]
        ),
        esp_name="Mailgun",
    )
    second.refresh_from_db()
    assert second.state == Delivery.State.DELIVERED


def test_a_bounce_of_another_message_marks_the_address_but_no_delivery(
    smtp_server, letter, django_capture_on_commit_callbacks, settings
):
    settings.ANYMAIL = {"WEBHOOK_SECRET": "hook:s3cret"}
    reader = make_member("reader@example.com")
    first, second = two_mailings_to(reader, letter, django_capture_on_commit_callbacks)
    # A sign-in link's bounce: its id is no newsletter delivery's.
    answer = post_postmark(postmark_bounce(reader.email, "883953f4-6105-42a2-a16a-77a8eac79483"))
    assert answer.status_code == 200
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.SENT}
    assert Suppression.objects.get(email=reader.email).reason == Suppression.Reason.HARD_BOUNCE


def test_without_an_id_the_latest_delivery_to_the_address(
    smtp_server, letter, django_capture_on_commit_callbacks
):
    reader = make_member("reader@example.com")
    first, second = two_mailings_to(reader, letter, django_capture_on_commit_callbacks)
    actions.record_tracking_event("delivered", "Reader@Example.com")
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, second.state) == (Delivery.State.SENT, Delivery.State.DELIVERED)
