"""What Masthead keeps of its members' money: plans and prices the publisher
sells, each member's subscriptions, the payments and refunds against them,
gifts, the Stripe events received, and an audit trail.

Stripe stays the source of truth for payments; these rows hold what the site
needs to decide access, send email and show the publisher what happened.
"""

import hashlib
import uuid
from typing import TypeVar, overload

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting

from masthead.core.querysets import ReportingQuerySet


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@register_setting(icon="form")
class BillingSettings(BaseGenericSetting):
    """The publisher's billing rules."""

    payment_grace_days = models.PositiveSmallIntegerField(
        _("grace period after a failed payment (days)"),
        default=7,
        help_text=_(
            "How long a subscriber keeps access after a renewal payment fails, "
            "while Stripe retries the card."
        ),
    )
    shipping_countries = models.CharField(
        _("print shipping countries"),
        max_length=500,
        default="US,CA,GB,IE,FR,DE,NL,BE,AU,NZ",
        help_text=_(
            "Two-letter country codes, separated by commas, that print subscriptions "
            "ship to. Stripe Checkout offers only these."
        ),
    )

    single_issue_price = models.PositiveIntegerField(
        _("price of a single issue"),
        default=0,
        help_text=_(
            "What one issue costs on its own, in cents (600 is $6.00): the buyer keeps "
            "its articles, editions and audio for good. 0: single issues are not sold."
        ),
    )
    single_issue_currency = models.CharField(
        _("currency of a single issue"), max_length=3, default="usd"
    )

    panels = [
        FieldPanel("payment_grace_days"),
        FieldPanel("shipping_countries"),
        FieldPanel("single_issue_price"),
        FieldPanel("single_issue_currency"),
    ]

    class Meta:
        verbose_name = _("billing")

    def __str__(self) -> str:
        return "Billing settings"

    def shipping_country_codes(self) -> list[str]:
        return [code.strip().upper() for code in self.shipping_countries.split(",") if code.strip()]


class Plan(models.Model):
    """Something a reader can subscribe to: Digital, Digital + Print."""

    code = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    includes_print = models.BooleanField(
        default=False, help_text=_("Print copies are mailed; a shipping address is required.")
    )
    active = models.BooleanField(default=True, help_text=_("Offered on the subscribe page."))
    sort_order = models.PositiveSmallIntegerField(default=0)
    stripe_product_id = models.CharField(max_length=100, blank=True)

    panels = [
        FieldPanel("name"),
        FieldPanel("code"),
        FieldPanel("description"),
        FieldPanel("includes_print"),
        FieldPanel("active"),
        FieldPanel("sort_order"),
        FieldPanel("stripe_product_id", read_only=True),
    ]

    class Meta:
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return self.name


class Price(models.Model):
    """What a plan costs per month or per year, in the currency's smallest unit."""

    class Interval(models.TextChoices):
        MONTH = "month", _("Monthly")
        YEAR = "year", _("Yearly")

    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="prices")
    interval = models.CharField(max_length=5, choices=Interval.choices)
    amount = models.PositiveIntegerField(help_text=_("In cents (the smallest unit): 800 is $8.00."))
    currency = models.CharField(max_length=3, default="usd")
    trial_days = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)
    stripe_price_id = models.CharField(max_length=100, blank=True)

    panels = [
        FieldPanel("plan"),
        FieldPanel("interval"),
        FieldPanel("amount"),
        FieldPanel("currency"),
        FieldPanel("trial_days"),
        FieldPanel("active"),
        FieldPanel("stripe_price_id", read_only=True),
    ]

    class Meta:
        ordering = ["plan__sort_order", "plan__name", "-interval"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_price_id"],
                condition=~Q(stripe_price_id=""),
                name="billing_price_unique_stripe_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan.name}, {self.display_amount} per {self.interval}"

    @property
    def display_amount(self) -> str:
        return format_money(self.amount, self.currency)


def format_money(amount: int, currency: str) -> str:
    symbol = {"usd": "$", "cad": "CA$", "aud": "A$", "gbp": "£", "eur": "€"}.get(
        currency.lower(), currency.upper() + " "
    )
    return f"{symbol}{amount // 100}.{amount % 100:02d}"


_Model = TypeVar("_Model", bound=models.Model)
_Row = TypeVar("_Row")


@overload
def by_stripe_id(
    queryset: "models.Manager[_Model]", field: str, stripe_id: str
) -> "models.QuerySet[_Model]": ...


@overload
def by_stripe_id(
    queryset: "models.QuerySet[_Model, _Row]", field: str, stripe_id: str
) -> "models.QuerySet[_Model, _Row]": ...


def by_stripe_id(
    queryset: "models.Manager[_Model] | models.QuerySet[_Model, _Row]", field: str, stripe_id: str
) -> "models.QuerySet[_Model] | models.QuerySet[_Model, _Row]":
    """The rows of `queryset` whose `field`, a Stripe id kept unique where it
    is not empty, is `stripe_id`. Saying "not empty" too lets SQLite use the
    partial unique index, which it cannot infer from the equality: without
    it every webhook scanned the whole table."""
    return queryset.exclude(**{field: ""}).filter(**{field: stripe_id})


_Subscription = TypeVar("_Subscription", bound="Subscription")


# Generic, as QuerySet is, so that annotate() can add to the rows' type.
class SubscriptionQuerySet(ReportingQuerySet[_Subscription]):
    # A subscription's bulk writes change its member's entitlement: serving
    # makes their cached entitlement stale (serving/invalidation.py).
    report_field = "member_id"

    def paid(self) -> "SubscriptionQuerySet[_Subscription]":
        return self.exclude(stripe_subscription_id="")

    def live(self) -> "SubscriptionQuerySet[_Subscription]":
        """Paid subscriptions that still bill or may bill again."""
        return self.paid().filter(status__in=Subscription.LIVE_STATUSES)


class Subscription(models.Model):
    """A member's subscription: a Stripe one, a gift or a complimentary grant.

    For Stripe subscriptions the status and period mirror Stripe's, refreshed
    from Stripe on every webhook and by the nightly reconciliation. Gifts and
    complimentary grants end at `ends_at` (never, when blank).
    """

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", _("Incomplete")
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled")
        UNPAID = "unpaid", _("Unpaid")
        REFUNDED = "refunded", _("Refunded")
        COMPLIMENTARY = "complimentary", _("Complimentary")
        GIFT = "gift", _("Gift")

    LIVE_STATUSES = (
        Status.INCOMPLETE,
        Status.TRIALING,
        Status.ACTIVE,
        Status.PAST_DUE,
        Status.UNPAID,
    )

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="subscriptions",
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    price = models.ForeignKey(
        Price, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    status = models.CharField(max_length=15, choices=Status.choices, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True)
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_item_id = models.CharField(max_length=100, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    cancellation_reason = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Gifts and complimentary grants end here.")
    )
    first_paid_at = models.DateTimeField(null=True, blank=True)
    payment_failed_at = models.DateTimeField(null=True, blank=True)
    welcomed_at = models.DateTimeField(null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)
    gift = models.OneToOneField(
        "Gift", null=True, blank=True, on_delete=models.PROTECT, related_name="subscription"
    )
    # The Checkout Session that started it, once fulfilled (its shipping
    # address has then been stored).
    checkout_session_id = models.CharField(max_length=300, blank=True)
    # When the Stripe state stored here was fetched: a fetch older than this
    # one never overwrites it (webhooks arrive in any order).
    stripe_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SubscriptionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~Q(stripe_subscription_id=""),
                name="billing_subscription_unique_stripe_id",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "status"]),
            # Insights: subscriptions first paid or cancelled in a period.
            models.Index(fields=["first_paid_at"], name="billing_sub_first_paid"),
            models.Index(fields=["canceled_at"], name="billing_sub_canceled"),
        ]

    def __str__(self) -> str:
        return f"{self.member or 'deleted member'}: {self.plan} ({self.get_status_display()})"

    @property
    def is_stripe(self) -> bool:
        return bool(self.stripe_subscription_id)

    @property
    def is_test_mode(self) -> bool:
        return self.stripe_subscription_id.startswith("tm_")


class Payment(models.Model):
    """Money received: one paid invoice of a subscription, a gift purchase, or
    a single issue bought."""

    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    gift = models.ForeignKey(
        "Gift", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    issue_purchase = models.ForeignKey(
        "IssuePurchase", null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="payments"
    )
    stripe_invoice_id = models.CharField(max_length=100, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=100, blank=True)
    stripe_charge_id = models.CharField(max_length=100, blank=True)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    amount_refunded = models.PositiveIntegerField(default=0)
    stripe_refund_id = models.CharField(max_length=100, blank=True)
    paid_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-paid_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_invoice_id"],
                condition=~Q(stripe_invoice_id=""),
                name="billing_payment_unique_invoice",
            ),
        ]
        indexes = [
            # Insights: revenue by month, payments recorded since a snapshot,
            # and the few payments with a refund.
            models.Index(fields=["paid_at"], name="billing_payment_paid_at"),
            models.Index(fields=["created_at"], name="billing_payment_created_at"),
            models.Index(
                fields=["paid_at"],
                condition=Q(amount_refunded__gt=0),
                name="billing_payment_refunded",
            ),
        ]

    def __str__(self) -> str:
        return f"{format_money(self.amount, self.currency)} on {self.paid_at:%Y-%m-%d}"

    @property
    def display_amount(self) -> str:
        return format_money(self.amount, self.currency)


class Refund(models.Model):
    """A member's 60-day money-back request. One per subscription and one per
    member; its `request_key` fixes the Stripe idempotency keys, so retrying a
    request never refunds twice."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    subscription = models.OneToOneField(
        Subscription, on_delete=models.PROTECT, related_name="refund"
    )
    member = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="billing_refund",
    )
    request_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    amount = models.PositiveIntegerField(default=0)
    amount_refunded = models.PositiveIntegerField(default=0)
    currency = models.CharField(max_length=3, default="usd")
    stripe_refund_ids = models.JSONField(default=list, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    requested_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]

    def __str__(self) -> str:
        return f"Refund of {self.subscription} ({self.get_status_display()})"

    @property
    def display_amount(self) -> str:
        return format_money(self.amount_refunded or self.amount, self.currency)

    def idempotency_key(self, payment: "Payment") -> str:
        return f"masthead-refund-{self.request_key}-payment-{payment.pk}"


class StripeEvent(models.Model):
    """A webhook event as received, with what handling it did."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PROCESSED = "processed", _("Processed")
        FAILED = "failed", _("Failed")
        # No delivery of it could ever be handled: kept for a person to look
        # at, never retried.
        MALFORMED = "malformed", _("Malformed")

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100, db_index=True)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id} ({self.status})"


class Gift(models.Model):
    """A gift subscription: bought once for 3, 6 or 12 months, redeemed by the
    recipient with a token sent by email (only its hash is kept)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Sent")
        REDEEMED = "redeemed", _("Redeemed")
        FAILED = "failed", _("Payment failed")

    class Months(models.IntegerChoices):
        THREE = 3, _("3 months")
        SIX = 6, _("6 months")
        TWELVE = 12, _("12 months")

    buyer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gifts_bought",
    )
    buyer_email = models.EmailField()
    recipient_email = models.EmailField()
    recipient_name = models.CharField(max_length=200, blank=True)
    message = models.CharField(max_length=500, blank=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="gifts")
    months = models.PositiveSmallIntegerField(choices=Months.choices)
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    stripe_checkout_session_id = models.CharField(max_length=300, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    redeemed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="gifts_redeemed",
    )
    redeemed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"], condition=~Q(token_hash=""), name="billing_gift_unique_token"
            ),
            models.UniqueConstraint(
                fields=["stripe_checkout_session_id"],
                condition=~Q(stripe_checkout_session_id=""),
                name="billing_gift_unique_session",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_months_display()} of {self.plan} for {self.recipient_email}"

    @property
    def display_amount(self) -> str:
        return format_money(self.amount, self.currency)


class IssuePurchaseQuerySet(ReportingQuerySet["IssuePurchase"]):
    # A purchase's bulk writes change its member's entitlement, as a
    # subscription's do (serving/invalidation.py).
    report_field = "member_id"


class IssuePurchase(models.Model):
    """One issue bought on its own, by one member, with one Checkout payment:
    while it is paid, the member has that issue's articles, editions and
    audio for good, without a subscription (`access.rules.decide`). A refund
    takes them away."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        REFUNDED = "refunded", _("Refunded")
        FAILED = "failed", _("Payment failed")

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="issue_purchases",
    )
    issue = models.ForeignKey(
        "issues.IssuePage", on_delete=models.PROTECT, related_name="purchases"
    )
    amount = models.PositiveIntegerField()
    currency = models.CharField(max_length=3, default="usd")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    stripe_checkout_session_id = models.CharField(max_length=300, blank=True)
    stripe_payment_intent_id = models.CharField(max_length=100, blank=True)
    # Fixes the Stripe idempotency key of its refund: asking twice refunds once.
    refund_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    stripe_refund_id = models.CharField(max_length=100, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = IssuePurchaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stripe_checkout_session_id"],
                condition=~Q(stripe_checkout_session_id=""),
                name="billing_issue_purchase_unique_session",
            ),
        ]
        indexes = [models.Index(fields=["member", "status"], name="billing_issue_purchase_member")]

    def __str__(self) -> str:
        return f"{self.issue} for {self.member or 'deleted member'} ({self.get_status_display()})"

    @property
    def display_amount(self) -> str:
        return format_money(self.amount, self.currency)

    def refund_idempotency_key(self) -> str:
        return f"masthead-issue-refund-{self.refund_key}"


class ComplimentaryGrant(Subscription):
    """Complimentary subscriptions, as staff see and grant them in the admin."""

    class Meta:
        proxy = True
        verbose_name = _("complimentary subscription")


class BillingAuditLog(models.Model):
    """One row per billing state change: who, what, to which subscription."""

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="billing_audit_logs",
    )
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_logs"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    action = models.CharField(max_length=50, db_index=True)
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("billing audit log entry")
        verbose_name_plural = _("billing audit log")

    def __str__(self) -> str:
        return f"{self.action} ({self.member or '-'})"
