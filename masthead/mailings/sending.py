"""Bulk messages: their headers (RFC 8058 one-click unsubscribe, List-Id,
Feedback-ID), DKIM signing, and handing them to the server over one SMTP
connection per batch.

NEWSLETTER_EMAIL_URL says where bulk mail goes: smtp://, smtp+tls://,
smtps:// (spoken to directly with smtplib, so each message's reply is kept);
any other form (console:, file://, a Django backend path) goes through
Django's mail backends.
"""

import base64
import binascii
import hashlib
import re
import secrets
import smtplib
import time
from dataclasses import dataclass
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.mail import EmailMessage as DjangoEmailMessage
from django.core.mail import get_connection
from django.utils import timezone


@dataclass(frozen=True)
class Envelope:
    """What a message says about its sender and its list."""

    from_header: str
    return_path: str
    reply_to: str
    list_id: str
    feedback_id: str


def sender_domain(address):
    return parseaddr(address)[1].rpartition("@")[2] or "localhost"


def envelope_for(mailing):
    newsletter = mailing.newsletter
    default_name, default_address = parseaddr(settings.NEWSLETTER_FROM_EMAIL)
    address = newsletter.from_email or default_address
    name = newsletter.from_name or default_name
    domain = sender_domain(address)
    return Envelope(
        from_header=formataddr((name, address)) if name else address,
        return_path=address,
        reply_to=newsletter.reply_to,
        list_id=f'"{newsletter.name}" <{newsletter.slug}.{domain}>',
        # Gmail's Feedback-ID: campaign:customer:mail type:sender id.
        feedback_id=(
            f"{mailing.pk}:{newsletter.slug}:newsletter:{settings.NEWSLETTER_FEEDBACK_SENDER}"
        ),
    )


def message_id_for(mailing_pk, delivery_pk, domain):
    """The same delivery always has the same Message-ID: a message sent
    again after a crash (see tasks.send_mailing_batch) is a duplicate that
    mailbox providers recognise."""
    return f"<newsletter.{mailing_pk}.{delivery_pk}@{domain}>"


# Headers folded only past RFC 5322's 998-character limit: folded at 78, a long
# List-Unsubscribe URL (no space to fold at) comes out as RFC 2047 encoded
# words, which mailbox providers do not read as a URL.
HEADER_POLICY = SMTP.clone(max_line_length=998)


@lru_cache(maxsize=256)
def _header(name, value):
    """One header line as bytes. Plain ASCII goes as it is; anything else
    (a sender's name, a subject with accents) is encoded by the email
    package, cached: a batch repeats the same few values."""
    if value.isascii() and "\n" not in value and "\r" not in value and len(value) < 900:
        return f"{name}: {value}\r\n".encode()
    return HEADER_POLICY.fold_binary(*HEADER_POLICY.header_store_parse(name, value))


def _quoted_printable(content):
    """UTF-8, quoted-printable, CRLF line ends, ending with a line end."""
    if not content.endswith("\n"):
        content += "\n"
    encoded = binascii.b2a_qp(content.replace("\r\n", "\n").encode(), istext=True)
    return encoded.replace(b"\n", b"\r\n")


def build_message(envelope, *, to, subject, html, text, message_id, unsubscribe_url, mailto=""):
    """The message as bytes, DKIM-signed when a key is configured.

    Written out directly rather than through `email.message.EmailMessage`,
    whose header objects and generator cost several times the rest of a
    send; the result is the same MIME (tests parse it with the email
    package)."""
    unsubscribe = f"<{unsubscribe_url}>"
    if mailto:
        unsubscribe += f", <mailto:{mailto}?subject=unsubscribe>"
    boundary = f"==============={secrets.randbits(63):019d}=="
    lines = [
        _header("From", envelope.from_header),
        _header("To", to),
        _header("Subject", subject),
        _header("Date", format_datetime(timezone.now())),
        _header("Message-ID", message_id),
        _header("Reply-To", envelope.reply_to) if envelope.reply_to else b"",
        _header("List-Unsubscribe", unsubscribe),
        b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n",
        _header("List-Id", envelope.list_id),
        _header("Feedback-ID", envelope.feedback_id),
        b"Precedence: bulk\r\n",
        b"MIME-Version: 1.0\r\n",
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n'.encode(),
        b"\r\n",
    ]
    delimiter = f"--{boundary}\r\n".encode()
    part = b'Content-Type: text/%s; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n'
    raw = b"".join(
        [
            *lines,
            delimiter,
            part % b"plain",
            _quoted_printable(text),
            b"\r\n",
            delimiter,
            part % b"html",
            _quoted_printable(html),
            b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
    )
    return dkim_sign(raw)


SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"list-id",
    b"feedback-id",
    b"mime-version",
    b"content-type",
)


@lru_cache(maxsize=4)
def _dkim_key(text, path):
    """The private key, loaded once per process (parsing a PEM is slow)."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if text:
        pem = text.encode()
    elif path:
        with open(path, "rb") as handle:
            pem = handle.read()
    else:
        return None
    return load_pem_private_key(pem, password=None)


_FOLDING = re.compile(rb"\r\n(?=[ \t])")
# Runs that canonicalisation changes (two or more, or a tab): matching every
# single space would rewrite the whole body for nothing.
_WSP_RUN = re.compile(rb"\t[ \t]*| [ \t]+")
_WSP_AT_LINE_END = re.compile(rb"[ \t]+\r\n")


def _relaxed_header(name, value):
    """RFC 6376 3.4.2: name lowercased, value unfolded, runs of space one
    space, no space around the colon or at the end."""
    value = _WSP_RUN.sub(b" ", _FOLDING.sub(b"", value)).strip(b" \t")
    return name.strip().lower() + b":" + value + b"\r\n"


def _relaxed_body(body):
    """RFC 6376 3.4.4: runs of space one space, none at line ends, no empty
    lines at the end."""
    body = _WSP_AT_LINE_END.sub(b"\r\n", _WSP_RUN.sub(b" ", body))
    body = body.rstrip(b"\r\n")
    return body + b"\r\n" if body else b""


def _split_headers(raw):
    """[(name, value)] of the header block and the body; a value keeps its
    folding and its final CRLF."""
    head, _, body = raw.partition(b"\r\n\r\n")
    headers = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\r\n" + line)
        else:
            name, _, value = line.partition(b":")
            headers.append((name, value))
    return headers, body


def dkim_sign(raw, now=None):
    """Prepend a DKIM-Signature (rsa-sha256, relaxed/relaxed) when
    DKIM_DOMAIN and a key are set.

    Signed here with `cryptography` (OpenSSL) rather than dkimpy, whose
    pure-Python RSA is the largest cost of a bulk send; dkimpy verifies what
    this writes (tests/mailings/test_dkim.py)."""
    key = _dkim_key(settings.DKIM_PRIVATE_KEY, settings.DKIM_PRIVATE_KEY_FILE)
    if key is None or not settings.DKIM_DOMAIN:
        return raw
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    headers, body = _split_headers(raw)
    present = {name.strip().lower(): (name, value) for name, value in reversed(headers)}
    signed = [name for name in SIGNED_HEADERS if name in present]
    body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(body)).digest())
    timestamp = int(now if now is not None else time.time())
    tags = (
        f"v=1; a=rsa-sha256; c=relaxed/relaxed; d={settings.DKIM_DOMAIN};\r\n"
        f" s={settings.DKIM_SELECTOR}; t={timestamp};\r\n"
        f" h={':'.join(name.decode() for name in signed)};\r\n"
        f" bh={body_hash.decode()};\r\n b="
    ).encode()
    data = b"".join(_relaxed_header(*present[name]) for name in signed)
    # The signature header itself, b= empty, canonicalised, without its CRLF.
    data += _relaxed_header(b"DKIM-Signature", b" " + tags)[:-2]
    signature = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return b"DKIM-Signature: " + tags + base64.b64encode(signature) + b"\r\n" + raw


# "250 2.0.0 Ok: queued as 4Bq9Xy" (Postfix, SendGrid and most relays).
_QUEUED_AS = re.compile(r"queued as <?([^\s<>]+)>?", re.IGNORECASE)


def provider_message_id(reply):
    """The id the server gave the message in its reply, which its webhooks
    name the message by; "" when the reply names none."""
    found = _QUEUED_AS.search(reply or "")
    return found.group(1) if found else ""


class Refused(Exception):
    """The server refused one message. `permanent`: a 5xx reply, so the
    address is marked and not tried again."""

    def __init__(self, code, reply):
        super().__init__(f"{code} {reply}")
        self.code = code
        self.reply = reply

    @property
    def permanent(self):
        return 500 <= self.code < 600


# RFC 5321 4.5.2: a line of the message that starts with a dot gets another.
_LEADING_DOT = re.compile(rb"(?m)^\.")


class SMTPBatch:
    """One SMTP connection for a batch of messages; `send` returns the
    server's reply to the message's data."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (465 if parts.scheme == "smtps" else 25)
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")
        self.scheme = parts.scheme
        self.connection = None
        self.pipelining = False

    def __enter__(self):
        if self.scheme == "smtps":
            self.connection = smtplib.SMTP_SSL(self.host, self.port, timeout=60)
        else:
            self.connection = smtplib.SMTP(self.host, self.port, timeout=60)
        self.connection.ehlo()
        if self.scheme == "smtp+tls":
            self.connection.starttls()
            self.connection.ehlo()
        if self.user:
            self.connection.login(self.user, self.password)
        self.pipelining = self.connection.has_extn("pipelining")
        return self

    def __exit__(self, *exc):
        try:
            self.connection.quit()
        except (smtplib.SMTPException, OSError):
            self.connection.close()

    def send(self, return_path, to, raw):
        if self.pipelining:
            return self._send_pipelined(return_path, to, raw)
        smtp = self.connection
        code, reply = smtp.mail(return_path)
        if code != 250:
            smtp.rset()
            raise Refused(code, reply.decode(errors="replace"))
        code, reply = smtp.rcpt(to)
        if code not in (250, 251):
            smtp.rset()
            raise Refused(code, reply.decode(errors="replace"))
        code, reply = smtp.data(raw)
        if code != 250:
            raise Refused(code, reply.decode(errors="replace"))
        return f"{code} {reply.decode(errors='replace')}"

    def _send_pipelined(self, return_path, to, raw):
        """RFC 2920: MAIL, RCPT and DATA in one write and their three replies
        read together, then the message: two round trips instead of four."""
        smtp = self.connection
        smtp.send(f"MAIL FROM:<{return_path}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode())
        replies = [smtp.getreply() for _ in range(3)]
        (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = replies
        if data_code == 354:
            if mail_code != 250 or rcpt_code not in (250, 251):
                # A server may say 354 after a refused RCPT: end the empty
                # message so it has no recipient to go to.
                smtp.send(b".\r\n")
                smtp.getreply()
        else:
            smtp.rset()
        if mail_code != 250:
            raise Refused(mail_code, mail_reply.decode(errors="replace"))
        if rcpt_code not in (250, 251):
            raise Refused(rcpt_code, rcpt_reply.decode(errors="replace"))
        if data_code != 354:
            raise Refused(data_code, data_reply.decode(errors="replace"))
        data = _LEADING_DOT.sub(b"..", raw)
        smtp.send(data + (b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"))
        code, reply = smtp.getreply()
        if code != 250:
            raise Refused(code, reply.decode(errors="replace"))
        return f"{code} {reply.decode(errors='replace')}"


# Headers a Django message makes from its own fields, and DKIM's signature,
# which a provider that rebuilds the message would break (it signs itself).
_MADE_BY_THE_BACKEND = frozenset(
    name.lower()
    for name in (
        "From",
        "To",
        "Subject",
        "Reply-To",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "DKIM-Signature",
    )
)


class PreparedMessage(DjangoEmailMessage):
    """A built message for Django's mail backends. Backends that write the
    message out (console, file, locmem) send its bytes as they are.
    A provider's API backend (django-anymail) builds its request from the
    fields instead, so every field is read back from the bytes: sender,
    reply-to, subject, both parts, and the bulk headers (List-Unsubscribe,
    List-Unsubscribe-Post, List-Id, Message-ID, Feedback-ID, Date)."""

    def __init__(self, raw, return_path, to):
        from email import message_from_bytes
        from email.policy import default

        parsed = message_from_bytes(raw, policy=default)
        text = parsed.get_body(preferencelist=("plain",))
        html = parsed.get_body(preferencelist=("html",))
        super().__init__(
            subject=str(parsed["Subject"] or ""),
            body=text.get_content() if text else "",
            from_email=str(parsed["From"] or return_path),
            to=[to],
            reply_to=[str(parsed["Reply-To"])] if parsed["Reply-To"] else None,
            headers={
                name: str(value)
                for name, value in parsed.items()
                if name.lower() not in _MADE_BY_THE_BACKEND
            },
        )
        self.alternatives = [(html.get_content(), "text/html")] if html else []
        self.raw = raw

    def message(self, *, policy=None):
        from email import message_from_bytes

        return message_from_bytes(self.raw, policy=SMTP)


class DjangoBatch:
    def __init__(self, url):
        self.connection = get_connection(_django_backend(url))

    def __enter__(self):
        self.connection.open()
        return self

    def __exit__(self, *exc):
        self.connection.close()

    def send(self, return_path, to, raw):
        message = PreparedMessage(raw, return_path, to)
        self.connection.send_messages([message])
        reply = "accepted by " + type(self.connection).__name__
        # anymail's backends say what the provider called the message.
        status = getattr(message, "anymail_status", None)
        if status is not None and status.message_id:
            reply += f"; queued as {status.message_id}"
        return reply


def _django_backend(url):
    if url == settings.EMAIL_URL:
        return settings.EMAIL_BACKEND
    if url.startswith("file:"):
        return "django.core.mail.backends.filebased.EmailBackend"
    if url.startswith("console:"):
        return "django.core.mail.backends.console.EmailBackend"
    if url.startswith("anymail:"):
        return url.removeprefix("anymail:")
    if url.startswith("locmem:"):
        return "django.core.mail.backends.locmem.EmailBackend"
    return settings.EMAIL_BACKEND


def open_batch():
    """A context manager with `send(return_path, to, raw)` for one batch."""
    url = settings.NEWSLETTER_EMAIL_URL
    if url.startswith(("smtp://", "smtp+tls://", "smtps://")):
        return SMTPBatch(url)
    return DjangoBatch(url)
