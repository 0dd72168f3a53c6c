"""A newsletter sent through a provider's HTTP API (Postmark's, by
django-anymail's own backend) to a loopback server that answers as
Postmark's does: the request carries the sender and every bulk header, so
one-click unsubscribe works there as it does over SMTP."""

import json
import threading
import uuid
from email.utils import parseaddr
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from masthead.mailings import actions
from masthead.mailings.models import Delivery, Mailing, NewsletterSubscription
from tests.issues.support import make_member
from tests.mailings.conftest import FREE_PART, GATED_PART


class PostmarkAPI(BaseHTTPRequestHandler):
    """POST /email as Postmark documents it: a JSON message in, its
    MessageID out; the server token is checked."""

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path != "/email" or self.headers["X-Postmark-Server-Token"] != "token":
            self.send_response(401)
            self.end_headers()
            return
        message_id = str(uuid.uuid4())
        self.server.received.append((body, message_id))
        answer = json.dumps(
            {
                "To": body["To"],
                "SubmittedAt": "2026-12-05T10:00:00Z",
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def postmark(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), PostmarkAPI)
    server.received = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.NEWSLETTER_EMAIL_URL = "anymail:anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": "token",
        "POSTMARK_API_URL": f"http://127.0.0.1:{server.server_port}/",
    }
    try:
        yield server.received
    finally:
        server.shutdown()
        server.server_close()


def test_a_mailing_through_postmarks_api_keeps_its_sender_and_bulk_headers(
    postmark, mailing, letter, billing, django_capture_on_commit_callbacks, settings
):
    letter.from_email = "letters@mag.example"
    letter.from_name = "The Weekly Letter"
    letter.reply_to = "editors@mag.example"
    letter.save()
    subscriber = make_member("sub@example.com", full_name="Sam Subscriber")
    billing.subscribe(subscriber)
    free = make_member("free@example.com")
    for member in (subscriber, free):
        actions.set_newsletter_consent(member, letter, True, NewsletterSubscription.Source.ACCOUNT)

    with django_capture_on_commit_callbacks(execute=True):
        actions.start_mailing(mailing)
    mailing.refresh_from_db()

    assert mailing.status == Mailing.Status.SENT
    sent = {body["To"]: (body, message_id) for body, message_id in postmark}
    assert sorted(sent) == ["free@example.com", "sub@example.com"]
    for address, (body, message_id) in sent.items():
        headers = {header["Name"]: header["Value"] for header in body["Headers"]}
        assert parseaddr(body["From"]) == ("The Weekly Letter", "letters@mag.example")
        assert body["ReplyTo"] == "editors@mag.example"
        assert body["Subject"] == "This week"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["List-Unsubscribe"].startswith(f"<{settings.SITE_URL}/newsletters/")
        assert headers["List-Id"] == '"Weekly letter" <weekly.mag.example>'
        assert headers["Feedback-ID"].startswith(f"{mailing.pk}:weekly:newsletter:")
        delivery = Delivery.objects.get(mailing=mailing, email=address)
        assert headers["Message-ID"] == delivery.message_id
        # The provider signs; a signature of the bytes it rebuilds would fail.
        assert "DKIM-Signature" not in headers
        # Its own name for the message, which its bounce webhooks will use.
        assert delivery.provider_message_id == message_id
        assert FREE_PART in body["TextBody"] and FREE_PART in body["HtmlBody"]
    assert GATED_PART in sent["sub@example.com"][0]["HtmlBody"]
    assert GATED_PART not in sent["free@example.com"][0]["HtmlBody"]
    assert GATED_PART not in sent["free@example.com"][0]["TextBody"]
