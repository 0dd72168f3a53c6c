"""A real SMTP server for tests (aiosmtpd on a free loopback port) that
keeps what it receives, names each message in its reply as a provider does,
refuses chosen addresses with a 550, and offers PIPELINING (RFC 2920) when
asked to, as Postfix and the big relays do."""

import socket
import uuid

import pytest
from aiosmtpd.controller import Controller

from masthead.mailings.models import Mailing, Newsletter
from tests.issues.support import FakeBilling


class Collector:
    def __init__(self):
        self.messages = []
        self.refuse = set()
        self.pipelining = False

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.pipelining:
            # aiosmtpd reads commands one after another, so it serves a
            # pipelined client; it only does not say so.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        # Named as a provider names it, and as its webhooks will.
        return f"250 2.0.0 OK: queued as {uuid.uuid4()}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_server(settings):
    collector = Collector()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    settings.NEWSLETTER_EMAIL_URL = f"smtp://127.0.0.1:{port}"
    try:
        yield collector
    finally:
        controller.stop()


FREE_PART = "The free opening of the letter."
GATED_PART = "Only subscribers read this paragraph."


@pytest.fixture
def billing(monkeypatch):
    return FakeBilling(monkeypatch)


@pytest.fixture
def letter(db, site_tree):
    return Newsletter.objects.create(
        name="Weekly letter", slug="weekly", description="From the editors."
    )


@pytest.fixture
def mailing(letter):
    return Mailing.objects.create(
        newsletter=letter,
        subject="This week",
        body=[
            ("paragraph", f"<p>{FREE_PART}</p>"),
            ("teaser_break", None),
            ("paragraph", f"<p>{GATED_PART}</p>"),
        ],
    )
