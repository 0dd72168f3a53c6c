"""State changes of mailings: transactional email, newsletter consent,
sign-up confirmation, starting/pausing/cancelling mailings, unsubscribes,
bounces, complaints and suppressions.

Each change is one atomic function with an audit row; mail and batches go
out from the task worker once the transaction commits.
"""

import uuid

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from masthead.core.email import send_email
from masthead.core.taskqueue import enqueue_on_commit
from masthead.issues.actions import issue_of

from .models import (
    ConsentEvent,
    Delivery,
    Mailing,
    MailingEvent,
    Newsletter,
    NewsletterSubscription,
    SignUpConfirmation,
    Suppression,
)


def newsletters_at_sign_up():
    """The sign-up form's box for each newsletter a new member may receive,
    ticked where the newsletter is on by default."""
    from masthead.accounts.actions import SignUpChoice

    return [
        SignUpChoice(
            key=f"newsletter:{newsletter.slug}",
            label=newsletter.name,
            description=newsletter.description,
            default=newsletter.default_on,
        )
        for newsletter in Newsletter.objects.filter(
            is_active=True,
            audience__in=[Newsletter.Audience.EVERYONE, Newsletter.Audience.MEMBERS],
        )
    ]


def keep_sign_up_choices(member, choices):
    """A new member's answers on the sign-up form, one consent per newsletter
    offered there, ticked or not."""
    slugs = {
        key.removeprefix("newsletter:"): ticked
        for key, ticked in choices.items()
        if key.startswith("newsletter:")
    }
    for newsletter in Newsletter.objects.filter(slug__in=slugs):
        set_newsletter_consent(
            member, newsletter, slugs[newsletter.slug], NewsletterSubscription.Source.SIGN_UP
        )


@transaction.atomic
def set_newsletter_consent(member, newsletter, subscribed, source):
    """Record that `member` does (or does not) want `newsletter`, from
    `source` (a `NewsletterSubscription.Source` value). Returns the choice.

    A repeat of the current choice changes nothing and writes no audit row.
    """
    subscribed = bool(subscribed)
    choice, created = NewsletterSubscription.objects.select_for_update().get_or_create(
        member=member,
        newsletter=newsletter,
        defaults={"subscribed": subscribed, "source": source},
    )
    if not created:
        if choice.subscribed == subscribed:
            return choice
        choice.subscribed = subscribed
        choice.source = source
        choice.changed_at = timezone.now()
        choice.save(update_fields=["subscribed", "source", "changed_at"])
    ConsentEvent.objects.create(
        member=member, newsletter=newsletter, subscribed=subscribed, source=source
    )
    _mirror_legacy_preference(member, newsletter, subscribed)
    return choice


def set_newsletter_consents(choices, source):
    """Many members' choices at once (an import's readers), as
    `set_newsletter_consent` makes them one by one, in a few queries:
    `choices` is (member, newsletter, subscribed) triples, the last one for a
    (member, newsletter) counting. Returns how many choices changed."""
    wanted = {
        (member.pk, newsletter.pk): (member, newsletter, bool(subscribed))
        for member, newsletter, subscribed in choices
    }
    if not wanted:
        return 0
    existing = {
        (choice.member_id, choice.newsletter_id): choice
        for choice in NewsletterSubscription.objects.filter(
            member__in={pk for pk, _ in wanted}, newsletter__in={pk for _, pk in wanted}
        )
    }
    now = timezone.now()
    new, changed, events = [], [], []
    legacy = {}  # (field, value) -> member pks, for the old preference fields
    for key, (member, newsletter, subscribed) in wanted.items():
        choice = existing.get(key)
        if choice is None:
            new.append(
                NewsletterSubscription(
                    member=member,
                    newsletter=newsletter,
                    subscribed=subscribed,
                    source=source,
                    changed_at=now,
                )
            )
        elif choice.subscribed != subscribed:
            choice.subscribed, choice.source, choice.changed_at = subscribed, source, now
            changed.append(choice)
        else:
            continue
        events.append(
            ConsentEvent(
                member=member,
                newsletter=newsletter,
                subscribed=subscribed,
                source=source,
                created_at=now,
            )
        )
        field = newsletter.legacy_field
        if field and getattr(member, field, subscribed) != subscribed:
            setattr(member, field, subscribed)
            legacy.setdefault((field, subscribed), []).append(member.pk)
    with transaction.atomic():
        NewsletterSubscription.objects.bulk_create(new)
        NewsletterSubscription.objects.bulk_update(changed, ["subscribed", "source", "changed_at"])
        ConsentEvent.objects.bulk_create(events)
        for (field, value), pks in legacy.items():
            get_user_model().objects.filter(pk__in=pks).update(**{field: value})
    return len(events)


def newsletter_for_import(name, slug, known_pk=None):
    """The newsletter an imported one becomes: the one an earlier run made,
    else this site's with the same slug or name, else a new letter (off for
    new members: the import carries each reader's own choice)."""
    newsletter = Newsletter.objects.filter(pk=known_pk).first() if known_pk else None
    slug = slugify(slug or name)[:60] or "newsletter"
    newsletter = (
        newsletter
        or Newsletter.objects.filter(slug=slug).first()
        or Newsletter.objects.filter(name__iexact=name).first()
    )
    if newsletter is not None:
        return newsletter
    unique, n = slug, 1
    while Newsletter.objects.filter(slug=unique).exists():
        n += 1
        unique = f"{slug[:55]}-{n}"
    return Newsletter.objects.create(
        name=(name or slug)[:120], slug=unique, kind=Newsletter.Kind.LETTER, default_on=False
    )


def _mirror_legacy_preference(member, newsletter, subscribed):
    """Keep the account's old preference fields (read by the exports) in
    step with the newsletters they stood for."""
    field = newsletter.legacy_field
    if field and getattr(member, field, subscribed) != subscribed:
        setattr(member, field, subscribed)
        member.save(update_fields=[field])


def subscribed_newsletters(member):
    """{newsletter: bool} of every active newsletter open to this member."""
    newsletters = list(Newsletter.objects.filter(is_active=True))
    choices = dict(
        NewsletterSubscription.objects.filter(member=member).values_list(
            "newsletter_id", "subscribed"
        )
    )
    result = {}
    for newsletter in newsletters:
        if not recipients_could_include(member, newsletter):
            continue
        default = newsletter.default_on
        if newsletter.legacy_field:
            default = getattr(member, newsletter.legacy_field, default)
        result[newsletter] = choices.get(newsletter.pk, default)
    return result


def recipients_could_include(member, newsletter):
    """Whether the member is in the newsletter's audience."""
    from .delivery import in_audience

    return in_audience(member, newsletter)


def issue_newsletter():
    """The newsletter "publish issue" sends to (made on first use)."""
    newsletter = Newsletter.objects.filter(kind=Newsletter.Kind.ISSUE).order_by("pk").first()
    if newsletter is None:
        newsletter = Newsletter.objects.create(
            name="New issue",
            slug="new-issue",
            kind=Newsletter.Kind.ISSUE,
            audience=Newsletter.Audience.SUBSCRIBERS,
            default_on=True,
            description="An email when a new issue is out, with its contents.",
        )
    return newsletter


# Double opt-in sign-up ----------------------------------------------------------------


def request_sign_up(email, newsletter):
    """Send a confirmation link for `newsletter` to `email`. Nothing is
    recorded as consent until the link is confirmed (by POST)."""
    from masthead.accounts.tokens import new_token

    email = email.strip().lower()
    token, token_hash = new_token()
    with transaction.atomic():
        SignUpConfirmation.objects.filter(
            email=email, newsletter=newsletter, used_at__isnull=True
        ).update(used_at=timezone.now())
        SignUpConfirmation.objects.create(
            email=email,
            newsletter=newsletter,
            token_hash=token_hash,
            expires_at=timezone.now() + SignUpConfirmation.LIFETIME,
        )
        send_email(
            "newsletter_confirm",
            email,
            {
                "newsletter": newsletter.name,
                "confirm_url": reverse("mailings:confirm", args=[token]),
            },
        )
    return token


def usable_confirmation(token):
    from masthead.accounts.tokens import hash_token

    if not token:
        return None
    return (
        SignUpConfirmation.objects.select_related("newsletter")
        .filter(token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
    )


@transaction.atomic
def confirm_sign_up(token):
    """Use a confirmation link: the address becomes a free member (or is
    found as one) and subscribes. Returns the member, or None when the link
    is used, expired or unknown."""
    from masthead.accounts.tokens import hash_token

    confirmation = (
        SignUpConfirmation.objects.select_for_update()
        .select_related("newsletter")
        .filter(token_hash=hash_token(token), used_at__isnull=True, expires_at__gt=timezone.now())
        .first()
        if token
        else None
    )
    if confirmation is None:
        return None
    confirmation.used_at = timezone.now()
    confirmation.save(update_fields=["used_at"])
    users = get_user_model()
    member = users.objects.filter(email__iexact=confirmation.email).first()
    if member is None:
        member = users.objects.create_user(confirmation.email)
        from masthead.accounts.models import AccountEvent

        AccountEvent.objects.create(
            user=member, kind=AccountEvent.Kind.SIGNED_UP, data={"method": "newsletter"}
        )
    set_newsletter_consent(
        member, confirmation.newsletter, True, NewsletterSubscription.Source.SIGN_UP
    )
    return member


# Unsubscribe ---------------------------------------------------------------------------


@transaction.atomic
def unsubscribe(token):
    """One-click unsubscribe from the newsletter the token names (only
    that one). Returns the newsletter, or None for a bad token."""
    from .delivery import read_unsubscribe_token

    read = read_unsubscribe_token(token)
    if read is None:
        return None
    member_id, newsletter_id, delivery_id = read
    member = get_user_model().objects.filter(pk=member_id).first()
    newsletter = Newsletter.objects.filter(pk=newsletter_id).first()
    if member is None or newsletter is None:
        return None
    set_newsletter_consent(
        member, newsletter, False, NewsletterSubscription.Source.UNSUBSCRIBE_LINK
    )
    if delivery_id:
        Delivery.objects.filter(pk=delivery_id, unsubscribed_at__isnull=True).update(
            unsubscribed_at=timezone.now()
        )
    return newsletter


# Suppressions, bounces and complaints --------------------------------------------------


@transaction.atomic
def suppress_address(email, reason, detail=""):
    """Stop bulk mail to `email` (idempotent: an active suppression stays
    as it is, except that a complaint outranks a bounce)."""
    email = email.strip().lower()
    current = Suppression.objects.select_for_update().filter(email=email, lifted_at__isnull=True)
    existing = current.first()
    if existing:
        if reason == Suppression.Reason.COMPLAINT and existing.reason != reason:
            existing.reason = reason
            existing.detail = detail
            existing.save(update_fields=["reason", "detail"])
        return existing
    return Suppression.objects.create(email=email, reason=reason, detail=detail)


@transaction.atomic
def lift_suppression(suppression, user=None):
    Suppression.objects.filter(pk=suppression.pk, lifted_at__isnull=True).update(
        lifted_at=timezone.now(), lifted_by=user
    )


TRACKING_STATES = {
    "delivered": Delivery.State.DELIVERED,
    "bounced": Delivery.State.BOUNCED,
    "complained": Delivery.State.COMPLAINED,
}


@transaction.atomic
def record_tracking_event(event_type, recipient, message_id=None, reject_reason=None, detail=""):
    """What a provider's webhook says of a message: delivered, bounced
    (hard bounces suppress the address), complained (suppresses it), opened,
    clicked.

    The delivery is the one the event's message id names: the Message-ID
    header Masthead gave it, or the id the provider gave it in its reply
    (`Delivery.provider_message_id`). An id that names no delivery (a
    sign-in link, a receipt) changes no delivery, though a bounce or a
    complaint still marks the address. Without an id, the latest delivery to
    the address."""
    if not recipient:
        return None
    recipient = recipient.strip().lower()
    deliveries = Delivery.objects.filter(email=recipient)
    if message_id:
        bare = message_id.strip().strip("<>")
        delivery = (
            deliveries.filter(Q(message_id=f"<{bare}>") | Q(provider_message_id=bare))
            .order_by("-pk")
            .first()
        )
    else:
        delivery = deliveries.exclude(sent_at=None).order_by("-sent_at", "-pk").first()
    now = timezone.now()
    if event_type in TRACKING_STATES and delivery is not None:
        Delivery.objects.filter(pk=delivery.pk).update(
            state=TRACKING_STATES[event_type], updated_at=now, reply=(detail or "")[:300]
        )
    elif event_type == "opened" and delivery is not None:
        Delivery.objects.filter(pk=delivery.pk, opened_at=None).update(opened_at=now)
    elif event_type == "clicked" and delivery is not None:
        Delivery.objects.filter(pk=delivery.pk, clicked_at=None).update(clicked_at=now)
    if event_type == "complained":
        suppress_address(recipient, Suppression.Reason.COMPLAINT, detail)
    elif event_type == "bounced" and reject_reason in (None, "bounced", "invalid"):
        # Postmark and others report soft bounces as "bounced" too; only
        # permanent ones (HardBounce, bad address) reach here as such.
        suppress_address(recipient, Suppression.Reason.HARD_BOUNCE, detail)
    return delivery


# Mailings ------------------------------------------------------------------------------


def _event(mailing, kind, user=None, **data):
    MailingEvent.objects.create(mailing=mailing, kind=kind, user=user, data=data)


class MailingStateError(Exception):
    """The mailing cannot do that in its present state."""


def start_mailing(mailing, user=None):
    """Freeze the recipients and queue the batches. Returns the number of
    recipients."""
    from .delivery import freeze_recipients
    from .tasks import send_mailing_batch

    with transaction.atomic():
        mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
        if mailing.status not in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
            raise MailingStateError(
                f"A {mailing.get_status_display().lower()} mailing cannot start."
            )
        batches = freeze_recipients(mailing)
        mailing.status = Mailing.Status.SENDING
        mailing.started_at = timezone.now()
        mailing.save(update_fields=["status", "started_at"])
        total = Delivery.objects.filter(mailing=mailing).count()
        _event(mailing, "started", user, recipients=total, batches=batches)
        for batch in range(batches):
            enqueue_on_commit(send_mailing_batch, mailing.pk, batch)
        if not batches:
            mailing.status = Mailing.Status.SENT
            mailing.finished_at = timezone.now()
            mailing.save(update_fields=["status", "finished_at"])
    return total


@transaction.atomic
def schedule_mailing(mailing, when, user=None):
    from .tasks import start_scheduled_mailing

    mailing = Mailing.objects.select_for_update().get(pk=mailing.pk)
    if mailing.status not in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
        raise MailingStateError("Only a draft can be scheduled.")
    mailing.status = Mailing.Status.SCHEDULED
    mailing.scheduled_at = when
    mailing.save(update_fields=["status", "scheduled_at"])
    _event(mailing, "scheduled", user, at=when.isoformat())
    task = start_scheduled_mailing
    if task.get_backend().supports_defer:
        task = task.using(run_after=when)
        enqueue_on_commit(task, mailing.pk)
    return mailing


def start_due_mailings(mailing_ids=None, now=None):
    """Start scheduled mailings whose time has come."""
    now = now or timezone.now()
    due = Mailing.objects.filter(status=Mailing.Status.SCHEDULED, scheduled_at__lte=now)
    if mailing_ids is not None:
        due = due.filter(pk__in=mailing_ids)
    started = 0
    for mailing in due:
        try:
            start_mailing(mailing)
        except MailingStateError:
            continue
        started += 1
    return started


@transaction.atomic
def pause_mailing(mailing, user=None):
    updated = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.SENDING).update(
        status=Mailing.Status.PAUSED
    )
    if not updated:
        raise MailingStateError("Only a mailing being sent can be paused.")
    _event(mailing, "paused", user)


@transaction.atomic
def resume_mailing(mailing, user=None):
    from .tasks import send_mailing_batch

    updated = Mailing.objects.filter(pk=mailing.pk, status=Mailing.Status.PAUSED).update(
        status=Mailing.Status.SENDING
    )
    if not updated:
        raise MailingStateError("Only a paused mailing can resume.")
    _event(mailing, "resumed", user)
    batches = (
        Delivery.objects.filter(
            mailing=mailing, state__in=[Delivery.State.PENDING, Delivery.State.CLAIMED]
        )
        .values_list("batch", flat=True)
        .distinct()
    )
    for batch in sorted(set(batches)):
        enqueue_on_commit(send_mailing_batch, mailing.pk, batch)


@transaction.atomic
def cancel_mailing(mailing, user=None):
    """Stop a mailing for good: what was not sent is skipped."""
    updated = Mailing.objects.filter(
        pk=mailing.pk,
        status__in=[
            Mailing.Status.DRAFT,
            Mailing.Status.SCHEDULED,
            Mailing.Status.SENDING,
            Mailing.Status.PAUSED,
        ],
    ).update(status=Mailing.Status.CANCELLED, finished_at=timezone.now())
    if not updated:
        raise MailingStateError("This mailing has finished.")
    Delivery.objects.filter(mailing=mailing, state=Delivery.State.PENDING).update(
        state=Delivery.State.SKIPPED, updated_at=timezone.now()
    )
    _event(mailing, "cancelled", user)


def send_test(mailing, user, cut):
    """Send the mailing as `cut` ("full" or "teaser") to the editor, now,
    marked as a test. Not a delivery: it counts nowhere."""
    from .delivery import preferences_url, unsubscribe_token, unsubscribe_url
    from .render import Personal, personalise, render_cut
    from .sending import build_message, envelope_for, open_batch, sender_domain

    rendered = render_cut(mailing, cut)
    envelope = envelope_for(mailing)
    link = unsubscribe_url(unsubscribe_token(user.pk, mailing.newsletter_id))
    html, text = personalise(rendered, Personal(user.get_short_name(), link, preferences_url()))
    raw = build_message(
        envelope,
        to=user.email,
        subject=f"[Test: {cut}] {rendered.subject}",
        html=html,
        text=text,
        message_id=f"<newsletter-test.{mailing.pk}.{uuid.uuid4().hex}@{sender_domain(envelope.return_path)}>",
        unsubscribe_url=link,
    )
    with open_batch() as connection:
        reply = connection.send(envelope.return_path, user.email, raw)
    with transaction.atomic():
        _event(mailing, "test_sent", user, to=user.email, cut=cut)
    return reply


def mail_issue(issue, user=None):
    """The issue newsletter's mailing for `issue`, started (once)."""
    newsletter = issue_newsletter()
    with transaction.atomic():
        mailing, created = Mailing.objects.get_or_create(
            newsletter=newsletter,
            issue=issue,
            defaults={"subject": f"The new issue: {issue.title}", "created_by": user},
        )
    if mailing.status in (Mailing.Status.DRAFT, Mailing.Status.SCHEDULED):
        start_mailing(mailing, user)
    return mailing


def without_complainers(addresses):
    """Transactional mail ignores newsletter choices and bounces, but not a
    spam complaint: whoever marked our mail as spam gets none."""
    complained = set(
        Suppression.objects.filter(
            email__in=[address.lower() for address in addresses],
            reason=Suppression.Reason.COMPLAINT,
            lifted_at__isnull=True,
        ).values_list("email", flat=True)
    )
    return [address for address in addresses if address.lower() not in complained]


def announce_issue(publication):
    """The notify step of publishing an issue: the issue newsletter's mailing
    of this issue, started once; each reader gets what the access rule grants
    them."""
    mailing = mail_issue(issue_of(publication), user=getattr(publication, "requested_by", None))
    return f"Mailing {mailing.pk}: {mailing.deliveries.count()} recipient(s)."
