"""DKIM: with a configured key, what arrives at the SMTP server verifies
with dkimpy against the public key the DNS record would publish."""

import base64

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from masthead.mailings import actions
from masthead.mailings.models import NewsletterSubscription
from tests.issues.support import make_member


def dkim_key():
    """(private key PEM, the TXT record a publisher puts at
    <selector>._domainkey.<domain>)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)


def test_a_signed_mailing_verifies_against_the_published_key(
    smtp_server, mailing, letter, billing, django_capture_on_commit_callbacks, settings
):
    private, record = dkim_key()
    settings.DKIM_DOMAIN = "mag.example"
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_PRIVATE_KEY = private
    asked = []

    def dns(name, timeout=5):
        asked.append(name)
        return record if name == b"news._domainkey.mag.example." else None

    for email in ("sub@example.com", "free@example.com"):
        reader = make_member(email, full_name="Ann Ödegaard")
        actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    billing.subscribe(reader)
    with django_capture_on_commit_callbacks(execute=True):
        actions.start_mailing(mailing)

    assert len(smtp_server.messages) == 2
    for raw in smtp_server.messages:
        assert raw.startswith(b"DKIM-Signature:")
        assert b"d=mag.example" in raw and b"s=news" in raw
        assert dkim.verify(raw, dnsfunc=dns)
        headers, body = raw.split(b"\r\n\r\n", 1)
        signed_names = dkim.util.parse_tag_value(headers.split(b"DKIM-Signature:", 1)[1])
        assert b"list-unsubscribe" in signed_names[b"h"].replace(b" ", b"").split(b":")
        # A changed body or a changed unsubscribe header no longer verifies.
        assert not dkim.verify(raw.replace(b"the letter", b"the lettex"), dnsfunc=dns)
        forged = headers.replace(b"/unsubscribe/", b"/unsubscribX/") + b"\r\n\r\n" + body
        assert forged != raw and not dkim.verify(forged, dnsfunc=dns)
    assert set(asked) == {b"news._domainkey.mag.example."}


def test_no_key_no_signature(smtp_server, mailing, letter, django_capture_on_commit_callbacks):
    reader = make_member("reader@example.com")
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    with django_capture_on_commit_callbacks(execute=True):
        actions.start_mailing(mailing)
    [raw] = smtp_server.messages
    assert b"DKIM-Signature" not in raw


def test_accents_in_subject_and_sender_survive_and_verify(
    smtp_server, mailing, letter, django_capture_on_commit_callbacks, settings
):
    from email import message_from_bytes
    from email.policy import default

    private, record = dkim_key()
    settings.DKIM_DOMAIN = "mag.example"
    settings.DKIM_SELECTOR = "news"
    settings.DKIM_PRIVATE_KEY = private
    letter.from_name = "Rédaction du Café"
    letter.from_email = "lettre@mag.example"
    letter.save()
    mailing.subject = "Ça commence à l’écluse — " + "très long sujet " * 8
    mailing.save()
    reader = make_member("reader@example.com")
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ACCOUNT)
    with django_capture_on_commit_callbacks(execute=True):
        actions.start_mailing(mailing)
    [raw] = smtp_server.messages
    assert raw.isascii()
    assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: record)
    message = message_from_bytes(raw, policy=default)
    assert message["Subject"] == mailing.subject
    assert message["From"].addresses[0].display_name == "Rédaction du Café"
    assert message["From"].addresses[0].addr_spec == "lettre@mag.example"
