"""Sending a mailing: freezing its recipients into delivery rows, then
sending each batch over one connection, surviving a worker killed midway.

Delivery states: pending → claimed → sent (→ delivered / bounced /
complained, from the provider's webhooks); failed when the server refuses
the address at send time, skipped when the reader unsubscribed or was
suppressed after the mailing started.

Crash safety. Each message is claimed in the transaction that records the
previous message as sent (with the server's reply), then handed to the
server. A batch that runs again (its worker was killed and the task queue
put the task back) sends every row still pending or claimed. The one window
SMTP cannot close: a worker killed after the server accepted a message but
before the next commit leaves that one row claimed, and the rerun sends it
again, with the same Message-ID, so mailbox providers see a duplicate. It is
at most one message per worker killed, never a skipped reader.
"""

import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from masthead.access.rules import Terms, decide
from masthead.newsroom.models import AccessLevel

from .models import Delivery, Mailing, MailingEvent, Newsletter, NewsletterSubscription, Suppression
from .render import FULL, Personal, absolute, cut_for, gate, personalise, render_cut
from .sending import (
    Refused,
    build_message,
    envelope_for,
    message_id_for,
    open_batch,
    provider_message_id,
    sender_domain,
)

UNSUBSCRIBE_SALT = "mailings.unsubscribe"
# How often a running batch looks at its mailing's status (pause, cancel).
STATUS_CHECK_EVERY = 50


# Per-recipient links ---------------------------------------------------------------------


def unsubscribe_token(member_id, newsletter_id, delivery_id=None):
    """A signed token naming a member and a newsletter: the one-click
    unsubscribe link needs no session."""
    return signing.dumps([member_id, newsletter_id, delivery_id], salt=UNSUBSCRIBE_SALT)


def read_unsubscribe_token(token):
    """(member_id, newsletter_id, delivery_id), or None for a bad token."""
    try:
        member_id, newsletter_id, delivery_id = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return member_id, newsletter_id, delivery_id


def unsubscribe_url(token):
    return absolute(reverse("mailings:unsubscribe", args=[token]))


_TOKEN = "TOKEN"


def token_url(name):
    """`name`'s absolute URL as a function of the token: reversed once per
    batch rather than once per recipient."""
    head, _, tail = absolute(reverse(name, args=[_TOKEN])).rpartition(_TOKEN)
    return lambda token: head + token + tail


def preferences_url():
    return absolute(reverse("accounts:account")) + "#newsletters"


# Recipients ----------------------------------------------------------------------------------


def recipients(newsletter):
    """Members who chose `newsletter`, or never chose and it is on by
    default; not suppressed. The subscribers-only audience is applied by
    `in_audience`, which asks the access rule."""
    members = get_user_model().objects.filter(is_active=True).exclude(email="")
    choices = NewsletterSubscription.objects.filter(newsletter=newsletter, member=OuterRef("pk"))
    chose_in = Exists(choices.filter(subscribed=True))
    no_choice = ~Exists(choices)
    if newsletter.legacy_field:
        members = members.filter(chose_in | (no_choice & Q(**{newsletter.legacy_field: True})))
    elif newsletter.default_on:
        members = members.filter(chose_in | no_choice)
    else:
        members = members.filter(chose_in)
    if newsletter.kind == Newsletter.Kind.ISSUE:
        # The issue newsletter goes to readers; staff read the issue in the admin.
        members = members.filter(is_staff=False)
    suppressed = Suppression.objects.filter(lifted_at__isnull=True, email__iexact=OuterRef("email"))
    return members.filter(~Exists(suppressed)).order_by("pk")


def in_audience(member, newsletter):
    """A subscribers-only newsletter goes to those the access rule grants
    subscriber content."""
    if newsletter.audience != Newsletter.Audience.SUBSCRIBERS:
        return True
    return bool(decide(member, Terms(AccessLevel.SUBSCRIBERS)))


def freeze_recipients(mailing):
    """Write one pending delivery row per recipient, numbered into batches.
    Runs once per mailing (inside `actions.start_mailing`); returns the
    number of batches."""
    size = max(1, settings.NEWSLETTER_BATCH_SIZE)
    rows = []
    count = 0
    newsletter = mailing.newsletter
    for member in recipients(newsletter).only("pk", "email", "is_staff").iterator():
        if not in_audience(member, newsletter):
            continue
        member_id, email = member.pk, member.email
        rows.append(
            Delivery(mailing=mailing, member_id=member_id, email=email.lower(), batch=count // size)
        )
        count += 1
        if len(rows) >= 2000:
            Delivery.objects.bulk_create(rows, ignore_conflicts=True)
            rows = []
    if rows:
        Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    return (count + size - 1) // size


# Sending ---------------------------------------------------------------------------------------


class Pacer:
    """Keeps one worker under NEWSLETTER_SEND_RATE messages per second."""

    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at = None

    def wait(self):
        if not self.interval:
            return
        now = self.clock()
        if self.next_at is not None and now < self.next_at:
            self.sleep(self.next_at - now)
            now = self.next_at
        self.next_at = now + self.interval


def _still_sending(mailing_id):
    return Mailing.objects.filter(pk=mailing_id, status=Mailing.Status.SENDING).exists()


def _opted_out(mailing, member_ids):
    """Of these members, those who unsubscribed since the mailing started."""
    return set(
        NewsletterSubscription.objects.filter(
            newsletter_id=mailing.newsletter_id, member_id__in=member_ids, subscribed=False
        ).values_list("member_id", flat=True)
    )


def _suppressed(emails):
    return set(
        Suppression.objects.filter(email__in=emails, lifted_at__isnull=True).values_list(
            "email", flat=True
        )
    )


def _record(cursor, previous, now):
    """Write the outcome of the previous message: (pk, state, reply). One
    statement by primary key, in SQL: it runs once per message."""
    pk, state, reply = previous
    sent = state == Delivery.State.SENT
    cursor.execute(
        f"UPDATE {Delivery._meta.db_table} SET state = %s, reply = %s, "
        "provider_message_id = %s, sent_at = %s, updated_at = %s WHERE id = %s",
        [
            state,
            reply[:300],
            provider_message_id(reply)[:200] if sent else "",
            _db_time(now) if sent else None,
            _db_time(now),
            pk,
        ],
    )


def _claim(cursor, pk, message_id, now):
    cursor.execute(
        f"UPDATE {Delivery._meta.db_table} SET state = %s, claimed_at = %s, message_id = %s "
        "WHERE id = %s",
        [Delivery.State.CLAIMED, _db_time(now), message_id, pk],
    )


def _db_time(now):
    return Delivery._meta.get_field("updated_at").get_db_prep_value(now, connection)


def send_batch(mailing_id, batch):
    """Send what batch `batch` of the mailing has not sent yet. Returns a
    one-line summary."""
    mailing = Mailing.objects.select_related("newsletter").filter(pk=mailing_id).first()
    if mailing is None or mailing.status != Mailing.Status.SENDING:
        return "not sending"
    rows = list(
        Delivery.objects.filter(
            mailing=mailing,
            batch=batch,
            state__in=[Delivery.State.PENDING, Delivery.State.CLAIMED],
        )
        .order_by("pk")
        .values_list("pk", "member_id", "email")
    )
    if not rows:
        _finish_if_done(mailing)
        return "nothing to send"

    members = get_user_model().objects.in_bulk([member_id for _, member_id, _ in rows if member_id])
    opted_out = _opted_out(mailing, list(members))
    suppressed = _suppressed([email for _, _, email in rows])
    gated_by = gate(mailing)
    cuts = {}
    envelope = envelope_for(mailing)
    domain = sender_domain(envelope.return_path)
    mailto = settings.NEWSLETTER_UNSUBSCRIBE_MAILTO
    preferences = preferences_url()
    unsubscribe_link = token_url("mailings:unsubscribe")
    pixel_link = token_url("mailings:opened") if mailing.newsletter.track_opens_and_clicks else None
    pacer = Pacer(settings.NEWSLETTER_SEND_RATE)
    sent = skipped = failed = 0
    previous = None
    stopped = False

    with open_batch() as server, connection.cursor() as cursor:
        for position, (pk, member_id, email) in enumerate(rows):
            if position and position % STATUS_CHECK_EVERY == 0 and not _still_sending(mailing_id):
                stopped = True
                break
            member = members.get(member_id)
            if member is None or member_id in opted_out or email in suppressed:
                with transaction.atomic():
                    if previous:
                        _record(cursor, previous, timezone.now())
                        previous = None
                    Delivery.objects.filter(pk=pk).update(
                        state=Delivery.State.SKIPPED, updated_at=timezone.now()
                    )
                skipped += 1
                continue
            cut = cut_for(member, gated_by) if gated_by is not None else FULL
            if cut not in cuts:
                cuts[cut] = render_cut(mailing, cut)
            token = unsubscribe_token(member_id, mailing.newsletter_id, pk)
            link = unsubscribe_link(token)
            pixel = pixel_link(token) if pixel_link else ""
            html, text = personalise(
                cuts[cut], Personal(member.get_short_name(), link, preferences, pixel)
            )
            message_id = message_id_for(mailing.pk, pk, domain)
            raw = build_message(
                envelope,
                to=email,
                subject=cuts[cut].subject,
                html=html,
                text=text,
                message_id=message_id,
                unsubscribe_url=link,
                mailto=mailto,
            )
            now = timezone.now()
            # Record the previous message and claim this one in one commit.
            with transaction.atomic():
                if previous:
                    _record(cursor, previous, now)
                _claim(cursor, pk, message_id, now)
            pacer.wait()
            try:
                reply = server.send(envelope.return_path, email, raw)
            except Refused as refused:
                previous = (pk, Delivery.State.FAILED, str(refused))
                failed += 1
                if refused.permanent:
                    from .actions import suppress_address

                    suppress_address(
                        email, Suppression.Reason.HARD_BOUNCE, detail=str(refused)[:300]
                    )
                continue
            previous = (pk, Delivery.State.SENT, reply)
            sent += 1
        if previous:
            _record(cursor, previous, timezone.now())
    if not stopped:
        _finish_if_done(mailing)
    return f"batch {batch}: {sent} sent, {failed} refused, {skipped} skipped"


def _finish_if_done(mailing):
    """Mark the mailing sent once no row is pending or claimed."""
    with transaction.atomic():
        open_rows = Delivery.objects.filter(
            mailing=mailing, state__in=[Delivery.State.PENDING, Delivery.State.CLAIMED]
        )
        if open_rows.exists():
            return
        updated = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENDING).update(
            status=Mailing.Status.SENT, finished_at=timezone.now()
        )
        if updated:
            MailingEvent.objects.create(mailing=mailing, kind="finished")


def progress(mailing):
    """Counts per state, for the admin: recipients, sent, delivered,
    bounced, complained, failed, skipped, unsubscribed, and opens and
    clicks when tracked."""
    from django.db.models import Count

    counts = dict(
        Delivery.objects.filter(mailing=mailing)
        .values_list("state")
        .annotate(n=Count("pk"))
        .values_list("state", "n")
    )
    total = sum(counts.values())
    state = Delivery.State
    reached = sum(
        counts.get(s, 0) for s in (state.SENT, state.DELIVERED, state.BOUNCED, state.COMPLAINED)
    )
    figures = {
        "recipients": total,
        "sent": reached,
        "pending": counts.get(state.PENDING, 0) + counts.get(state.CLAIMED, 0),
        "delivered": counts.get(state.DELIVERED, 0),
        "bounced": counts.get(state.BOUNCED, 0),
        "complained": counts.get(state.COMPLAINED, 0),
        "failed": counts.get(state.FAILED, 0),
        "skipped": counts.get(state.SKIPPED, 0),
        "unsubscribed": Delivery.objects.filter(
            mailing=mailing, unsubscribed_at__isnull=False
        ).count(),
    }
    if mailing.newsletter.track_opens_and_clicks:
        deliveries = Delivery.objects.filter(mailing=mailing)
        figures["opened"] = deliveries.filter(opened_at__isnull=False).count()
        figures["clicked"] = deliveries.filter(clicked_at__isnull=False).count()
    return figures
