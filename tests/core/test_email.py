"""Every transactional message has a plain-text and an HTML part in the
magazine's look, from the sender set in the magazine's settings."""

from pathlib import Path

import pytest
from django.conf import settings
from django.core import mail
from wagtail.models import Site

from masthead.core.email import send_templated_email, text_blocks
from masthead.core.models import MagazineSettings

pytestmark = pytest.mark.django_db

MAILINGS = Path(settings.BASE_DIR) / "templates" / "mailings"
TEMPLATES = sorted(
    path.name.removesuffix("_subject.txt") for path in MAILINGS.glob("*_subject.txt")
)
CONTEXT = {
    "link": "https://meridian.example/account/link/abc/",
    "minutes": 20,
    "plan": "Digital",
    "months": 12,
    "buyer_name": "Ada Reader",
    "buyer_email": "ada@example.com",
    "recipient_name": "Friend",
    "message": "Enjoy <b>this</b>!",
    "amount": "$80.00",
    "redeem_url": "https://meridian.example/gift/redeem/xyz/",
    "account_url": "https://meridian.example/account/",
    "expires_on": "March 1, 2027",
    "newsletter": "The Weekly",
    "confirm_url": "/newsletters/confirm/abc/",
}


def _send(template, context=CONTEXT):
    mail.outbox = []
    send_templated_email.call(template, ["reader@example.com"], context)
    [message] = mail.outbox
    return message


def test_there_are_transactional_templates_to_check():
    assert "account_sign_up_link" in TEMPLATES and "billing_gift_received" in TEMPLATES
    assert len(TEMPLATES) >= 14


@pytest.mark.parametrize("template", TEMPLATES)
def test_every_message_has_text_and_html_from_the_magazine(site_tree, template):
    message = _send(template)
    assert message.from_email == "The Meridian Review <editors@localhost>"
    assert "Masthead" not in message.from_email
    assert message.body.strip()
    [(html, mime)] = message.alternatives
    assert mime == "text/html"
    assert "<html" in html and "The Meridian Review" in html
    # The HTML says what the text says: each paragraph's first words are there.
    for kind, paragraph in text_blocks(message.body):
        if kind == "text":
            assert paragraph.split()[0].replace("'", "&#x27;") in html


def test_the_sender_is_a_setting_in_the_admin(site_tree):
    magazine = MagazineSettings.for_site(Site.objects.get(is_default_site=True))
    magazine.email_sender_name = "Meridian Editors"
    magazine.email_sender_address = "hello@meridian.example"
    magazine.save()
    message = _send("account_password_changed")
    assert message.from_email == "Meridian Editors <hello@meridian.example>"
    magazine.email_sender_name = ""
    magazine.save()
    assert _send("account_password_changed").from_email == (
        "The Meridian Review <hello@meridian.example>"
    )


def test_the_default_address_comes_from_settings(site_tree, settings):
    settings.DEFAULT_FROM_EMAIL = "Anything <desk@meridian.example>"
    assert _send("account_deleted").from_email == "The Meridian Review <desk@meridian.example>"


def test_sign_up_copy_and_its_link_as_a_button(site_tree):
    message = _send("account_sign_up_link")
    assert message.subject == "Create your account at The Meridian Review"
    assert "create your account at The Meridian Review and sign in" in message.body
    html = message.alternatives[0][0]
    assert '<a href="https://meridian.example/account/link/abc/" style="' in html
    assert ">Open the link</a>" in html


def test_a_gift_names_the_giver_and_the_magazine_and_escapes_their_message(site_tree):
    message = _send("billing_gift_received")
    assert message.subject == "Ada Reader has given you 12 months of The Meridian Review"
    assert "Ada Reader has given you 12 months of The Meridian Review (Digital)." in message.body
    assert "ada@example.com" not in message.body
    html = message.alternatives[0][0]
    assert "Enjoy &lt;b&gt;this&lt;/b&gt;!" in html and "<b>this</b>" not in html
