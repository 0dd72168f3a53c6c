from datetime import timedelta

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from masthead.core.querysets import ReportingQuerySet

from .countries import COUNTRIES
from .tokens import hash_token


class UserManager(BaseUserManager.from_queryset(ReportingQuerySet)):  # type: ignore[misc]  # django-stubs cannot follow from_queryset on BaseUserManager
    """Bulk writes to users (a deactivation by `update()`) are reported, so
    serving's cached members go stale (serving/invalidation.py)."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractUser):
    """A reader or staff member. The email address is the login.

    The two email preferences live on the user so that mailings can select
    recipients with one query (`User.objects.filter(wants_issue_emails=True)`).
    """

    # Email is the login. (django-stubs types the field as always present.)
    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    wants_newsletter = models.BooleanField(
        _("newsletter"), default=False, help_text=_("Receives the editors' newsletter.")
    )
    wants_issue_emails = models.BooleanField(
        _("new issue emails"),
        default=True,
        help_text=_("Receives an email when a new issue is published."),
    )

    # django-stubs expects auth's UserManager, which takes a username.
    objects = UserManager()  # type: ignore[misc]

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.full_name or " ".join(
            part for part in (self.first_name, self.last_name) if part
        )

    def get_short_name(self):
        return self.first_name or self.get_full_name() or self.email


class TokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(
            used_at__isnull=True, voided_at__isnull=True, expires_at__gt=timezone.now()
        )

    def find_usable(self, token):
        """The usable record for a raw token from a URL, or None."""
        if not token:
            return None
        return self.usable().filter(token_hash=hash_token(token)).first()


class MagicLink(models.Model):
    """A one-time sign-in (or sign-up) link sent by email.

    Only the SHA-256 of the token is stored: a copy of the database does not
    sign anyone in. A link lasts 15 minutes, works once, and issuing a new link
    for the same address voids the older ones.
    """

    LIFETIME = timedelta(minutes=15)

    class Purpose(models.TextChoices):
        SIGN_IN = "sign_in", _("Sign in")
        SIGN_UP = "sign_up", _("Sign up")

    email = models.EmailField(db_index=True)
    purpose = models.CharField(max_length=10, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    full_name = models.CharField(
        max_length=200, blank=True, help_text=_("Name given at sign-up, used for the new account.")
    )
    next_url = models.CharField(max_length=500, blank=True)
    sign_up_choices = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("What the sign-up form offered and the reader ticked (key: yes or no)."),
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("magic link")

    def __str__(self):
        return f"{self.get_purpose_display()} link for {self.email}"


class EmailChangeRequest(models.Model):
    """A member's request to move their account to a new address.

    The change happens only when the link sent to the new address is
    confirmed; the token is stored hashed, like a MagicLink.
    """

    LIFETIME = timedelta(hours=24)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_changes")
    new_email = models.EmailField()
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)

    objects = TokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("email change request")

    def __str__(self):
        return f"{self.user} → {self.new_email}"


class ShippingAddress(models.Model):
    """Where a member's print copies go. Validated by `addresses.validate_address`;
    written only through `actions.update_shipping_address`."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="shipping_address")
    name = models.CharField(max_length=200, blank=True)
    company = models.CharField(max_length=200, blank=True)
    line1 = models.CharField(_("address line 1"), max_length=200)
    line2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    city = models.CharField(max_length=100)
    region = models.CharField(_("state, province or region"), max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, choices=list(COUNTRIES.items()))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shipping address")
        verbose_name_plural = _("shipping addresses")

    def __str__(self):
        return ", ".join(self.lines())

    @property
    def recipient(self):
        """The name to print: the address's own, else the member's."""
        return self.name or self.user.get_full_name()

    def lines(self):
        """The address as printed on a label, without the recipient's name."""
        locality = " ".join(part for part in (self.city, self.region, self.postal_code) if part)
        return [
            line
            for line in (
                self.company,
                self.line1,
                self.line2,
                locality,
                COUNTRIES.get(self.country, self.country),
            )
            if line
        ]


class AccountEvent(models.Model):
    """The audit trail of changes to an account: one row per action.

    `data` holds what changed (field names, the method of sign-in), not the
    personal data itself. Rows go with the account when it is deleted, except
    the deletion record, which keeps only the former user id.
    """

    class Kind(models.TextChoices):
        SIGNED_UP = "signed_up", _("Signed up")
        SIGNED_IN = "signed_in", _("Signed in")
        PROFILE_UPDATED = "profile_updated", _("Profile updated")
        EMAIL_CHANGE_REQUESTED = "email_change_requested", _("Email change requested")
        EMAIL_CHANGED = "email_changed", _("Email changed")
        ADDRESS_UPDATED = "address_updated", _("Shipping address updated")
        PREFERENCES_UPDATED = "preferences_updated", _("Email preferences updated")
        PASSWORD_SET = "password_set", _("Password set")
        ACCOUNT_DELETED = "account_deleted", _("Account deleted")

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="account_events"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("account event")

    def __str__(self):
        return f"{self.get_kind_display()} ({self.user or self.data.get('user_id', '?')})"
