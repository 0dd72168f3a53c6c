"""Newsletters, who gets them, the mailings sent under them, one delivery row
per (mailing, recipient), and the addresses bulk mail no longer goes to.

Consent is one row per (member, newsletter): `NewsletterSubscription`. It is
written only through `actions.set_newsletter_consent`, which keeps the audit
trail (`ConsentEvent`); importers call that function too.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.fields import StreamField

from masthead.newsroom.blocks import ArticleBodyBlock


class Newsletter(models.Model):
    """A list readers choose to receive: the issue newsletter, the editors'
    weekly letter, a breaking-news alert."""

    class Audience(models.TextChoices):
        EVERYONE = "everyone", _("Everyone who signs up")
        MEMBERS = "members", _("Members (any account)")
        SUBSCRIBERS = "subscribers", _("Subscribers")

    class Kind(models.TextChoices):
        LETTER = "letter", _("Letter")
        ISSUE = "issue", _("New issue (sent by publish issue)")
        ALERT = "alert", _("Alert")

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LETTER)
    audience = models.CharField(max_length=12, choices=Audience.choices, default=Audience.EVERYONE)
    default_on = models.BooleanField(
        _("on for new members"),
        default=False,
        help_text=_("New members receive it unless they choose otherwise."),
    )
    from_name = models.CharField(_("sender name"), max_length=120, blank=True)
    from_email = models.EmailField(
        _("sender address"), blank=True, help_text=_("Empty: the site's newsletter sender.")
    )
    reply_to = models.EmailField(blank=True)
    track_opens_and_clicks = models.BooleanField(
        default=False,
        help_text=_("Adds a tracking pixel and redirecting links. Off unless you turn it on."),
    )
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sort_order", "name"]
        verbose_name = _("newsletter")

    def __str__(self):
        return self.name

    @property
    def legacy_field(self):
        """The account's preference field that stood for this newsletter
        before newsletters were defined (it still holds the choice of members
        who have no NewsletterSubscription row)."""
        if self.kind == self.Kind.ISSUE:
            return "wants_issue_emails"
        if self.slug == "editors-letter":
            return "wants_newsletter"
        return None

    @property
    def open_to_anyone(self):
        """Anyone can sign up with only an email address."""
        return self.audience == self.Audience.EVERYONE


class NewsletterSubscription(models.Model):
    """One member's choice for one newsletter. No row: the newsletter's
    default applies (`default_on`) for members who never chose."""

    class Source(models.TextChoices):
        ACCOUNT = "account", _("Account page")
        SIGN_UP = "sign_up", _("Sign-up form (confirmed)")
        DEFAULT = "default", _("Default for new members")
        UNSUBSCRIBE_LINK = "unsubscribe_link", _("Unsubscribe link")
        IMPORT = "import", _("Import")
        ADMIN = "admin", _("Admin")

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="newsletter_choices"
    )
    newsletter = models.ForeignKey(
        Newsletter, on_delete=models.CASCADE, related_name="subscriptions"
    )
    subscribed = models.BooleanField(default=True)
    source = models.CharField(max_length=20, choices=Source.choices)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "newsletter"], name="one_choice_per_member_and_newsletter"
            )
        ]
        indexes = [models.Index(fields=["newsletter", "subscribed"])]
        verbose_name = _("newsletter subscription")

    def __str__(self):
        state = "in" if self.subscribed else "out"
        return f"{self.member} {state}: {self.newsletter}"


class ConsentEvent(models.Model):
    """Audit row for every change of newsletter consent."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.CASCADE,
        related_name="newsletter_consent_events",
    )
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE)
    subscribed = models.BooleanField()
    source = models.CharField(max_length=20, choices=NewsletterSubscription.Source.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.member} {'in' if self.subscribed else 'out'}: {self.newsletter}"


class SignUpConfirmation(models.Model):
    """A double opt-in link: an address asked for a newsletter and must
    confirm from its inbox. Stored hashed, single use, like a magic link."""

    LIFETIME = timedelta(days=2)

    email = models.EmailField(db_index=True)
    newsletter = models.ForeignKey(Newsletter, on_delete=models.CASCADE)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Confirm {self.newsletter} for {self.email}"


class Mailing(models.Model):
    """One send of a newsletter: written in the admin (or an issue or article
    sent as email), then frozen into delivery rows and sent in batches."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        CANCELLED = "cancelled", _("Cancelled")

    newsletter = models.ForeignKey(Newsletter, on_delete=models.PROTECT, related_name="mailings")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(
        max_length=200, blank=True, help_text=_("The line inbox lists show after the subject.")
    )
    body = StreamField(ArticleBodyBlock(), blank=True)
    article = models.ForeignKey(
        "newsroom.ArticlePage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Send this article as the email (its teaser to readers without access)."),
    )
    issue = models.ForeignKey(
        "issues.IssuePage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="mailings",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("mailing")

    def __str__(self):
        return self.subject


class Delivery(models.Model):
    """One recipient of one mailing.

    pending → claimed (a worker took it, before talking to the server) →
    sent (the server accepted it; its reply kept) → delivered / bounced /
    complained (from the provider's webhook). `failed`: refused at send time.
    `skipped`: left out when sending (unsubscribed or suppressed meanwhile).
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        CLAIMED = "claimed", _("Claimed")
        SENT = "sent", _("Sent")
        DELIVERED = "delivered", _("Delivered")
        BOUNCED = "bounced", _("Bounced")
        COMPLAINED = "complained", _("Complained")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="deliveries")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    email = models.EmailField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    batch = models.PositiveIntegerField(default=0)
    message_id = models.CharField(max_length=200, blank=True, db_index=True)
    provider_message_id = models.CharField(
        max_length=200,
        blank=True,
        db_index=True,
        help_text=_("The server's own id for the message, from its reply; webhooks name it."),
    )
    reply = models.CharField(max_length=300, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailing", "email"], name="one_delivery_per_address")
        ]
        indexes = [models.Index(fields=["mailing", "batch", "state"])]
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return f"{self.mailing} → {self.email} ({self.state})"


class Suppression(models.Model):
    """An address bulk mail no longer goes to: a hard bounce, a complaint or
    the publisher's choice. Lifting keeps the row (with `lifted_at`)."""

    class Reason(models.TextChoices):
        HARD_BOUNCE = "hard_bounce", _("Hard bounce")
        COMPLAINT = "complaint", _("Spam complaint")
        MANUAL = "manual", _("Added by the publisher")

    email = models.EmailField(db_index=True)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["email"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_suppression_per_address",
            )
        ]

    def __str__(self):
        return f"{self.email} ({self.get_reason_display()})"


class MailingEvent(models.Model):
    """Audit row for a mailing's life: started, paused, resumed, cancelled,
    test sent, finished."""

    mailing = models.ForeignKey(Mailing, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=20)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.mailing}"
