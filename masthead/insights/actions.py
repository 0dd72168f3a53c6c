"""What staff do from the members area. Each function changes state through
the owning app's action (billing's, accounts') where there is one, and
leaves a StaffAction row saying who did it."""

from django.db import transaction

from masthead.accounts import actions as account_actions
from masthead.billing import actions as billing_actions

from .models import Label, MemberLabel, MemberNote, StaffAction

BillingError = billing_actions.BillingError


def record(action, *, member=None, actor=None, **detail):
    return StaffAction.objects.create(member=member, actor=actor, action=action, detail=detail)


def grant_complimentary(member, plan, *, actor, ends_at=None, note=""):
    with transaction.atomic():
        subscription = billing_actions.grant_complimentary(
            member, plan, ends_at=ends_at, granted_by=actor, note=note
        )
        record(
            "complimentary_granted",
            member=member,
            actor=actor,
            plan=plan.code,
            ends_at=ends_at.isoformat() if ends_at else "",
        )
    return subscription


def cancel_subscription(member, *, actor, reason=""):
    """Stop the member's subscription renewing; access lasts to the period's end."""
    subscription = billing_actions.cancel_subscription(
        member, reason=reason or "Cancelled by staff"
    )
    record("cancelled", member=member, actor=actor, subscription=subscription.pk)
    return subscription


def refund_subscription(member, *, actor, reason=""):
    """The 60-day guarantee's refund, asked for on the member's behalf: the
    same rule as theirs (once, within 60 days of the first payment)."""
    refund = billing_actions.refund_subscription(member, reason=reason or "Refunded by staff")
    record("refunded", member=member, actor=actor, refund=refund.pk)
    return refund


def resend_sign_in_link(member, *, actor):
    account_actions.request_sign_in_link(member.email)
    record("sign_in_link_sent", member=member, actor=actor)


def add_note(member, text, *, actor):
    text = text.strip()
    if not text:
        raise ValueError("A note needs some text.")
    with transaction.atomic():
        note = MemberNote.objects.create(member=member, author=actor, text=text)
        record("note_added", member=member, actor=actor, note=note.pk)
    return note


def label_named(name):
    name = " ".join(name.split())[:60]
    if not name:
        raise ValueError("A label needs a name.")
    label, _created = Label.objects.get_or_create(name=name)
    return label


def add_label(members, label, *, actor):
    """Put `label` on every member of `members` (a queryset); returns how
    many did not have it yet."""
    added = 0
    with transaction.atomic():
        batch = []
        for member_id in members.values_list("pk", flat=True).iterator(chunk_size=5000):
            batch.append(MemberLabel(member_id=member_id, label=label))
            if len(batch) >= 5000:
                added += _insert(batch)
                batch = []
        added += _insert(batch)
        record("label_added", actor=actor, label=label.name, members=added)
    return added


def _insert(batch):
    if not batch:
        return 0
    before = MemberLabel.objects.filter(
        label=batch[0].label, member_id__in=[row.member_id for row in batch]
    ).count()
    MemberLabel.objects.bulk_create(batch, ignore_conflicts=True)
    return len(batch) - before


def remove_label(members, label, *, actor):
    with transaction.atomic():
        removed, _ = MemberLabel.objects.filter(
            label=label, member_id__in=members.values("pk")
        ).delete()
        record("label_removed", actor=actor, label=label.name, members=removed)
    return removed


def unsubscribe_from_newsletter(members, *, actor):
    """Take every member of `members` off the newsletter, through accounts'
    preference action (an AccountEvent each)."""
    done = 0
    with transaction.atomic():
        for member in members.filter(wants_newsletter=True).iterator(chunk_size=2000):
            account_actions.update_email_preferences(
                member, wants_newsletter=False, wants_issue_emails=member.wants_issue_emails
            )
            done += 1
        record("newsletter_unsubscribed", actor=actor, members=done)
    return done
