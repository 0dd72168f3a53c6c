"""Every change to a member's account, one function each.

Each action runs in a transaction, writes an AccountEvent, and sends its
emails through `mailings.send_email`, which waits for the commit. Views call
these; so do other apps:

- billing calls `update_shipping_address(user, **fields)` with the address
  Stripe Checkout collected;
- `delete_account(user)` calls the hooks other apps registered in
  `BEFORE_DELETE_HOOKS` (billing's `cancel_for_deleted_member(user)`) before
  anything is deleted.

Dependencies point one way: accounts imports core, never the apps above it;
they plug in through the hook lists here.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from masthead.core.email import send_email

from .addresses import validate_address
from .models import AccountEvent, EmailChangeRequest, MagicLink, ShippingAddress, User
from .tokens import new_token


class EmailInUse(Exception):
    """The new address belongs to another account."""


def normalize_email(email):
    return email.strip().lower()


def _site_name():
    from wagtail.models import Site

    from masthead.core.models import MagazineSettings

    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        return settings.WAGTAIL_SITE_NAME
    return MagazineSettings.for_site(site).name


def _absolute(url_name, token):
    return settings.SITE_URL + reverse(url_name, args=[token])


def _find_member(email):
    return User.objects.filter(email__iexact=email).first()


def _record(user, kind, **data):
    return AccountEvent.objects.create(user=user, kind=kind, data=data)


# Magic links ------------------------------------------------------------------


@transaction.atomic
def _issue_magic_link(email, purpose, *, full_name="", next_url="", sign_up_choices=None):
    """Create a link for `email`, voiding the unused ones sent before."""
    now = timezone.now()
    MagicLink.objects.filter(
        email__iexact=email, used_at__isnull=True, voided_at__isnull=True
    ).update(voided_at=now)
    token, token_hash = new_token()
    MagicLink.objects.create(
        email=email,
        purpose=purpose,
        token_hash=token_hash,
        full_name=full_name[:200],
        next_url=next_url[:500],
        sign_up_choices=sign_up_choices or {},
        created_at=now,
        expires_at=now + MagicLink.LIFETIME,
    )
    return token


def _send_link(email, purpose, token, **context):
    template = (
        "account_sign_in_link" if purpose == MagicLink.Purpose.SIGN_IN else "account_sign_up_link"
    )
    send_email(
        template,
        email,
        {
            "link": _absolute("accounts:magic_link", token),
            "email": email,
            "minutes": int(MagicLink.LIFETIME.total_seconds() // 60),
            "site_name": _site_name(),
            **context,
        },
    )


@transaction.atomic
def request_sign_in_link(email, *, next_url=""):
    """Email a sign-in link to a member, or a sign-up link to an address
    without an account, so the form answers the same either way."""
    email = normalize_email(email)
    user = _find_member(email)
    if user is None:
        token = _issue_magic_link(email, MagicLink.Purpose.SIGN_UP, next_url=next_url)
        _send_link(email, MagicLink.Purpose.SIGN_UP, token, from_sign_in=True)
    elif user.is_active:
        token = _issue_magic_link(user.email, MagicLink.Purpose.SIGN_IN, next_url=next_url)
        _send_link(user.email, MagicLink.Purpose.SIGN_IN, token)
    # A deactivated account gets nothing; the form still says "check your inbox".


@dataclass(frozen=True)
class SignUpChoice:
    """A box on the sign-up form, offered by an app above accounts."""

    key: str
    label: str
    description: str
    default: bool


# Callables giving the boxes the sign-up form offers (mailings: each
# newsletter open to a new member), and callables run with a new member and
# their answers ({key: ticked}) once the link creates the account. Apps above
# accounts append to these from their AppConfig.ready().
SIGN_UP_CHOICES: list[Callable[[], list[SignUpChoice]]] = []
AFTER_SIGN_UP_HOOKS: list[Callable[[User, dict[str, bool]], object]] = []


def sign_up_choices():
    return [choice for offer in SIGN_UP_CHOICES for choice in offer()]


@transaction.atomic
def request_sign_up_link(email, *, full_name="", next_url="", choices=None):
    """Email a link that creates the account, or a sign-in link when the
    address already has one. `choices`, the sign-up form's answers, are kept
    with the link and take effect when it creates the account."""
    email = normalize_email(email)
    user = _find_member(email)
    if user is None:
        token = _issue_magic_link(
            email,
            MagicLink.Purpose.SIGN_UP,
            full_name=full_name,
            next_url=next_url,
            sign_up_choices=choices,
        )
        _send_link(email, MagicLink.Purpose.SIGN_UP, token)
    elif user.is_active:
        token = _issue_magic_link(user.email, MagicLink.Purpose.SIGN_IN, next_url=next_url)
        _send_link(user.email, MagicLink.Purpose.SIGN_IN, token, from_sign_up=True)


@dataclass(frozen=True)
class Redemption:
    user: User
    next_url: str
    created: bool


@transaction.atomic
def redeem_magic_link(token):
    """Use up a magic link: return the member it signs in (creating the
    account on first use), or None when the link is unknown, expired, used,
    voided, or belongs to a deactivated account.

    The view then calls `django.contrib.auth.login`, which rotates the
    session key.
    """
    link = MagicLink.objects.find_usable(token)
    if link is None:
        return None
    now = timezone.now()
    # The conditional update lets exactly one of two concurrent requests win.
    claimed = MagicLink.objects.usable().filter(pk=link.pk).update(used_at=now)
    if not claimed:
        return None
    user = _find_member(link.email)
    created = False
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(email=link.email, full_name=link.full_name)
        except IntegrityError:  # the same address signed up a moment ago
            user = _find_member(link.email)
        else:
            created = True
            _record(user, AccountEvent.Kind.SIGNED_UP)
            for hook in AFTER_SIGN_UP_HOOKS:
                hook(user, dict(link.sign_up_choices or {}))
    if not user.is_active:
        return None
    _record(user, AccountEvent.Kind.SIGNED_IN, method="magic_link")
    return Redemption(user=user, next_url=link.next_url, created=created)


def record_password_sign_in(user):
    _record(user, AccountEvent.Kind.SIGNED_IN, method="password")


# Profile and preferences ----------------------------------------------------


@transaction.atomic
def update_profile(user, *, full_name):
    user.full_name = full_name.strip()
    user.save(update_fields=["full_name"])
    _record(user, AccountEvent.Kind.PROFILE_UPDATED, fields=["full_name"])
    return user


@transaction.atomic
def update_email_preferences(user, *, wants_newsletter, wants_issue_emails):
    user.wants_newsletter = bool(wants_newsletter)
    user.wants_issue_emails = bool(wants_issue_emails)
    user.save(update_fields=["wants_newsletter", "wants_issue_emails"])
    _record(
        user,
        AccountEvent.Kind.PREFERENCES_UPDATED,
        wants_newsletter=user.wants_newsletter,
        wants_issue_emails=user.wants_issue_emails,
    )
    return user


@transaction.atomic
def set_password(user, raw_password):
    """Set (or change) the optional password; the member is told by email."""
    user.set_password(raw_password)
    user.save(update_fields=["password"])
    _record(user, AccountEvent.Kind.PASSWORD_SET)
    send_email("account_password_changed", user.email, {"site_name": _site_name()})
    return user


# Email change -----------------------------------------------------------------


@transaction.atomic
def request_email_change(user, new_email):
    """Send a confirmation link to `new_email`; nothing changes until it is
    used. When the address already has an account, its owner gets a note
    instead, and the member sees the same answer."""
    new_email = normalize_email(new_email)
    now = timezone.now()
    EmailChangeRequest.objects.filter(
        user=user, used_at__isnull=True, voided_at__isnull=True
    ).update(voided_at=now)
    if User.objects.filter(email__iexact=new_email).exclude(pk=user.pk).exists():
        send_email("account_email_change_in_use", new_email, {"site_name": _site_name()})
        _record(user, AccountEvent.Kind.EMAIL_CHANGE_REQUESTED, address_in_use=True)
        return None
    token, token_hash = new_token()
    change = EmailChangeRequest.objects.create(
        user=user,
        new_email=new_email,
        token_hash=token_hash,
        created_at=now,
        expires_at=now + EmailChangeRequest.LIFETIME,
    )
    send_email(
        "account_email_change_confirm",
        new_email,
        {
            "link": _absolute("accounts:confirm_email", token),
            "old_email": user.email,
            "new_email": new_email,
            "hours": int(EmailChangeRequest.LIFETIME.total_seconds() // 3600),
            "site_name": _site_name(),
        },
    )
    _record(user, AccountEvent.Kind.EMAIL_CHANGE_REQUESTED, address_in_use=False)
    return change


@transaction.atomic
def confirm_email_change(token):
    """Move the account to the confirmed address and tell the old one.

    Returns the user, or None for an unknown, expired, used or voided link.
    Raises EmailInUse when another account took the address meanwhile.
    """
    change = EmailChangeRequest.objects.find_usable(token)
    if change is None:
        return None
    now = timezone.now()
    claimed = EmailChangeRequest.objects.usable().filter(pk=change.pk).update(used_at=now)
    if not claimed:
        return None
    user = User.objects.select_for_update(of=("self",)).get(pk=change.user_id)
    if User.objects.filter(email__iexact=change.new_email).exclude(pk=user.pk).exists():
        raise EmailInUse(change.new_email)
    old_email = user.email
    user.email = change.new_email
    user.save(update_fields=["email"])
    # Links sent to the old address no longer sign anyone in.
    MagicLink.objects.filter(email__iexact=old_email, used_at__isnull=True).update(voided_at=now)
    _record(user, AccountEvent.Kind.EMAIL_CHANGED)
    send_email(
        "account_email_changed",
        old_email,
        {"old_email": old_email, "new_email": user.email, "site_name": _site_name()},
    )
    return user


# Shipping address -----------------------------------------------------------


# Callables `(user) -> str | None` asked after a member changed their shipping
# address, for something to tell them (printing: an issue already went to the
# old address). Apps above accounts append to this list from their
# AppConfig.ready().
ADDRESS_CHANGE_NOTICES: list[Callable[[User], str | None]] = []


def address_change_notices(user):
    """What the hooks in ADDRESS_CHANGE_NOTICES have to tell `user`."""
    return [notice for ask in ADDRESS_CHANGE_NOTICES if (notice := ask(user))]


@transaction.atomic
def update_shipping_address(user, *, source="account", **fields):
    """Replace the member's shipping address with `fields`.

    `fields` are those of ShippingAddress (name, company, line1, line2, city,
    region or Stripe's "state", postal_code, country as ISO 3166 alpha-2);
    a field left out is stored blank. Raises ValidationError (nothing is
    written) when the address fails its country's rules. `source` says who
    wrote it ("account", "checkout", "admin") in the audit record.
    """
    cleaned = validate_address(fields)
    address, created = ShippingAddress.objects.update_or_create(user=user, defaults=cleaned)
    _record(
        user,
        AccountEvent.Kind.ADDRESS_UPDATED,
        source=source,
        country=address.country,
        created=created,
    )
    return address


# Deletion -------------------------------------------------------------------

# Callables run with the user before an account is deleted, inside the
# deletion's transaction; one that raises stops the deletion. Apps above
# accounts append to this list from their AppConfig.ready() (billing cancels
# the member's subscriptions).
BEFORE_DELETE_HOOKS: list[Callable[[User], object]] = []


@transaction.atomic
def delete_account(user):
    """Delete the member and their personal data after the hooks ran (billing
    cancels subscriptions there). Their address, links, pending email
    changes and audit rows go too; one anonymous record of the deletion
    stays. The address gets a last email saying it is done."""
    for hook in BEFORE_DELETE_HOOKS:
        hook(user)
    email = user.email
    user_id = user.pk
    MagicLink.objects.filter(email__iexact=email).delete()
    user.delete()
    AccountEvent.objects.create(
        user=None, kind=AccountEvent.Kind.ACCOUNT_DELETED, data={"user_id": user_id}
    )
    send_email("account_deleted", email, {"site_name": _site_name()})
