"""A worker killed (SIGKILL) in the middle of a mailing's batch: the task
queue puts the batch back, the next worker sends what is left, and the
messages counted at the SMTP server reach every recipient, with at most one
duplicate per killed worker (the window `delivery` documents) and no one
skipped.

Real `manage.py db_worker` processes send to an aiosmtpd server started
here. The server holds chosen messages (counted in the order they arrive)
unanswered until the test has killed the worker that sent them, so the kill
lands mid-batch, after the server took the message, whatever the machine's
speed.
"""

import asyncio
import threading
from collections import Counter
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller

from masthead.mailings import actions
from masthead.mailings.models import Mailing, Newsletter, NewsletterSubscription
from masthead.newsroom.site_tree import ensure_site_tree
from tests.issues.support import make_member
from tests.mailings.conftest import free_port
from tests.scaleout import support

pytestmark = pytest.mark.django_db(transaction=True)

# Workers beat every second and count as dead after three silent seconds.
FAST_HEARTBEATS = {"TASK_WORKER_HEARTBEAT": 1, "TASK_WORKER_TIMEOUT": 3}
RECIPIENTS = 10


class HoldingServer:
    """Keeps every message; holds the Nth ones (N in `hold_at`) until
    `release(N)`."""

    def __init__(self, hold_at):
        self.messages = []
        self.held = {n: threading.Event() for n in hold_at}
        self.released = {n: threading.Event() for n in hold_at}

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        number = len(self.messages)
        if number in self.held:
            self.held[number].set()
            await asyncio.get_running_loop().run_in_executor(None, self.released[number].wait)
        return f"250 OK queued as q{number}"

    def wait_held(self, number, worker):
        if not self.held[number].wait(90):
            raise AssertionError(f"message {number} never came\n{worker.output()}")

    def release(self, number):
        self.released[number].set()


def delivery_states(database, mailing):
    return dict(
        database.query(
            "SELECT email, state FROM mailings_delivery WHERE mailing_id = %s", mailing.pk
        )
    )


def test_workers_killed_mid_batch_skip_no_one_and_repeat_one_message_each(settings, tmp_path):
    ensure_site_tree()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.NEWSLETTER_BATCH_SIZE = RECIPIENTS  # one batch, one task
    letter = Newsletter.objects.create(name="Weekly letter", slug="weekly")
    emails = [f"reader{n}@example.com" for n in range(RECIPIENTS)]
    for email in emails:
        actions.set_newsletter_consent(
            make_member(email), letter, True, NewsletterSubscription.Source.ACCOUNT
        )
    mailing = Mailing.objects.create(
        newsletter=letter, subject="This week", body=[("paragraph", "<p>Hello.</p>")]
    )
    actions.start_mailing(mailing)

    # The first worker dies holding message 3; the second, which sends
    # message 3 again as message 4, dies holding message 7.
    server = HoldingServer(hold_at=(3, 7))
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port, ready_timeout=30)
    controller.start()
    database = support.SharedDatabase(tmp_path)
    database.publish()
    env = support.process_env(
        tmp_path,
        database,
        TASKS_BACKEND="database",
        NEWSLETTER_EMAIL_URL=f"smtp://127.0.0.1:{port}",
        NEWSLETTER_BATCH_SIZE=RECIPIENTS,
        **FAST_HEARTBEATS,
    )
    workers = []
    try:
        for number, log in ((3, "worker-1.log"), (7, "worker-2.log")):
            worker = support.db_worker(env, tmp_path / log)
            workers.append(worker)
            server.wait_held(number, worker)
            worker.kill()
            server.release(number)
            states = Counter(delivery_states(database, mailing).values())
            # Left behind: the held message claimed, the rest not sent yet.
            assert states["claimed"] == 1, states
        assert states == {"sent": 5, "claimed": 1, "pending": 4}

        last = support.db_worker(env, tmp_path / "worker-3.log")
        workers.append(last)
        support.wait_until(
            lambda: (
                database.query("SELECT status FROM mailings_mailing WHERE id = %s", mailing.pk)
                == [("sent",)]
            ),
            90,
            message=lambda: f"mailing sent by the third worker\n{last.output()}",
        )
    finally:
        for worker in workers:
            worker.stop()
        controller.stop()

    arrived = [message_from_bytes(raw, policy=default) for raw in server.messages]
    per_recipient = Counter(message["To"] for message in arrived)
    assert sorted(per_recipient) == emails  # no one skipped
    assert len(arrived) == RECIPIENTS + 2  # one duplicate per killed worker
    twice = sorted(email for email, count in per_recipient.items() if count > 1)
    assert twice == [emails[2], emails[5]]  # the messages held when the workers died
    for email in twice:
        ids = {message["Message-ID"] for message in arrived if message["To"] == email}
        assert len(ids) == 1  # sent again with the same Message-ID
    assert set(delivery_states(database, mailing).values()) == {"sent"}
