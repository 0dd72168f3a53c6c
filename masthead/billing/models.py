"""What Masthead keeps of its members' money: plans and prices the publisher
sells, each member's subscriptions, the payments and refunds against them,
gifts, the Stripe events received, and an audit trail.

Stripe stays the source of truth for payments; these rows hold what the site
needs to decide access, send email and show the publisher what happened.
"""

import hashlib
import re
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar, overload

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.functional import Promise as StrPromise
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
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

    tax_enabled = models.BooleanField(
        _("collect sales tax and VAT"),
        default=False,
        help_text=_(
            "Stripe Tax works out the tax at checkout from the reader's address (the "
            "shipping address for print) and collects business tax IDs. Turn it on in "
            "Stripe's dashboard too."
        ),
    )
    prices_include_tax = models.BooleanField(
        _("prices include tax"),
        default=False,
        help_text=_(
            "On: the prices shown are what readers pay, tax included. Off: tax is "
            "added at checkout. Applies to prices created on Stripe from now on."
        ),
    )
    test_mode_tax_rate = models.DecimalField(
        _("test-mode tax rate (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("20.00"),
        help_text=_("The one rate test mode charges, without Stripe, to try the flow."),
    )
    seller_name = models.CharField(
        _("seller's legal name"),
        max_length=200,
        blank=True,
        help_text=_("As it appears on invoices; blank for the magazine's publisher."),
    )
    seller_address = models.TextField(_("seller's address"), blank=True)
    seller_tax_id = models.CharField(
        _("seller's tax ID"), max_length=50, blank=True, help_text=_("VAT or sales tax number.")
    )
    retention_percent_off = models.PositiveSmallIntegerField(
        _("retention offer: percent off"),
        default=50,
        help_text=_(
            "Offered to a subscriber about to cancel, accepted in one click. 0 offers nothing."
        ),
    )
    retention_months = models.PositiveSmallIntegerField(
        _("retention offer: for how many months"), default=3
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
        MultiFieldPanel(
            [
                FieldPanel("tax_enabled"),
                FieldPanel("prices_include_tax"),
                FieldPanel("test_mode_tax_rate"),
            ],
            heading=_("Tax"),
        ),
        MultiFieldPanel(
            [FieldPanel("seller_name"), FieldPanel("seller_address"), FieldPanel("seller_tax_id")],
            heading=_("Invoices"),
        ),
        FieldPanel("retention_percent_off"),
        FieldPanel("retention_months"),
        FieldPanel("single_issue_price"),
        FieldPanel("single_issue_currency"),
    ]

    class Meta:
        verbose_name = _("billing")

    def __str__(self) -> str:
        return "Billing settings"

    @property
    def retention_offer(self) -> str:
        """The retention offer in the reader's words, or "" for none."""
        if not self.retention_percent_off or not self.retention_months:
            return ""
        months = self.retention_months
        length = "the next month" if months == 1 else f"the next {months} months"
        if self.retention_percent_off == 50:
            return f"half price for {length}"
        return f"{self.retention_percent_off}% off for {length}"

    def shipping_country_codes(self) -> list[str]:
        return [code.strip().upper() for code in self.shipping_countries.split(",") if code.strip()]

    @property
    def tax_behavior(self) -> Literal["inclusive", "exclusive"]:
        """Stripe's name for how prices treat tax."""
        return "inclusive" if self.prices_include_tax else "exclusive"


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


code_validator = RegexValidator(
    r"^[A-Za-z0-9-]+$", _("Letters, digits and dashes only, as Stripe allows in a code.")
)


class OfferQuerySet(models.QuerySet["Offer"]):
    def by_code(self, code: str) -> "Offer | None":
        """The offer with `code` (any case); None for what cannot be a code,
        which is never asked of the database (PostgreSQL refuses a NUL)."""
        code = code.strip().upper()
        if not code or len(code) > 40 or not re.fullmatch(r"[A-Z0-9-]+", code):
            return None
        return self.filter(code=code).first()


class Offer(models.Model):
    """A price cut or a free trial the publisher sells with: for chosen plans
    and periods, behind a code and a landing page (/offer/<code>/), between
    two dates and up to a number of redemptions. On Stripe it becomes a
    coupon with a promotion code (a trial needs neither: Checkout is asked
    for it)."""

    class Kind(models.TextChoices):
        PERCENT_OFF = "percent_off", _("Percent off")
        AMOUNT_OFF = "amount_off", _("Amount off")
        TRIAL = "trial", _("Free trial")

    class Duration(models.TextChoices):
        REPEATING = "repeating", _("For the first months")
        FOREVER = "forever", _("Forever")

    class TrialEnd(models.TextChoices):
        CHARGE = "charge", _("Charge the card asked for at checkout")
        CANCEL = "cancel", _("Ask for no card; cancel unless one was added")

    name = models.CharField(max_length=100, help_text=_("For the publisher: Spring sale."))
    code = models.CharField(
        max_length=40,
        unique=True,
        validators=[code_validator],
        help_text=_("What readers type, and the landing page's address: /offer/<code>/."),
    )
    headline = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.PERCENT_OFF)
    percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    amount_off = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("In cents, off each invoice: 400 is $4.00.")
    )
    currency = models.CharField(max_length=3, default="usd")
    duration = models.CharField(max_length=10, choices=Duration.choices, default=Duration.REPEATING)
    duration_in_months = models.PositiveSmallIntegerField(null=True, blank=True)
    trial_days = models.PositiveSmallIntegerField(null=True, blank=True)
    trial_end = models.CharField(
        _("when the trial ends"), max_length=6, choices=TrialEnd.choices, default=TrialEnd.CHARGE
    )
    prices = models.ManyToManyField(
        Price, related_name="offers", help_text=_("The plans and periods it is good for.")
    )
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)
    views = models.PositiveIntegerField(default=0, editable=False)
    checkouts = models.PositiveIntegerField(default=0, editable=False)
    redemptions = models.PositiveIntegerField(default=0, editable=False)
    stripe_coupon_id = models.CharField(max_length=100, blank=True)
    stripe_promotion_code_id = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OfferQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        return reverse("billing:offer", args=[self.code])

    def clean(self) -> None:
        self.code = self.code.strip().upper()
        errors: dict[str, str | StrPromise] = {}
        if self.kind == self.Kind.PERCENT_OFF and not 0 < (self.percent_off or 0) <= 100:
            errors["percent_off"] = _("Between 1 and 100.")
        if self.kind == self.Kind.AMOUNT_OFF and not self.amount_off:
            errors["amount_off"] = _("How much off each invoice, in cents.")
        if self.kind == self.Kind.TRIAL and not self.trial_days:
            errors["trial_days"] = _("How many days the trial lasts.")
        discount = self.kind != self.Kind.TRIAL
        if discount and self.duration == self.Duration.REPEATING and not self.duration_in_months:
            errors["duration_in_months"] = _("For how many months.")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = _("After the start.")
        if errors:
            raise ValidationError(errors)

    @property
    def is_trial(self) -> bool:
        return self.kind == self.Kind.TRIAL

    @property
    def summary(self) -> str:
        """The offer in the reader's words: "50% off for 3 months"."""
        if self.is_trial:
            return f"{self.trial_days}-day free trial"
        if self.kind == self.Kind.PERCENT_OFF:
            cut = f"{self.percent_off}% off"
        else:
            cut = f"{format_money(self.amount_off or 0, self.currency)} off"
        if self.duration == self.Duration.FOREVER:
            return cut
        months = self.duration_in_months or 0
        return f"{cut} for {'the first month' if months == 1 else f'{months} months'}"

    def refusal(self, price: "Price | None" = None, now: datetime | None = None) -> str | None:
        """Why the offer cannot be taken now (for `price`), written for the
        reader; None when it can."""
        now = now or timezone.now()
        if not self.active:
            return "This offer is not available."
        if self.starts_at and now < self.starts_at:
            starts = format_date(timezone.localtime(self.starts_at), "F j, Y")
            return f"This offer starts on {starts}."
        if self.ends_at and now >= self.ends_at:
            ended = format_date(timezone.localtime(self.ends_at), "F j, Y")
            return f"This offer ended on {ended}."
        if self.max_redemptions is not None and self.redemptions >= self.max_redemptions:
            return "This offer has been fully claimed."
        if price is not None and not self.prices.filter(pk=price.pk).exists():
            return "This offer is not good for that plan."
        return None

    def discounted(self, amount: int, months_in: int) -> int:
        """What an invoice of `amount` costs with this offer, `months_in`
        months after the subscription began (Stripe's reckoning of a
        repeating coupon)."""
        if self.is_trial:
            return amount
        if self.duration == self.Duration.REPEATING and months_in >= (self.duration_in_months or 0):
            return amount
        if self.kind == self.Kind.PERCENT_OFF:
            return amount - round(amount * (self.percent_off or 0) / 100)
        return max(0, amount - (self.amount_off or 0))


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
    # The offer it was bought with, if any (counted once, at fulfilment).
    offer = models.ForeignKey(
        Offer, null=True, blank=True, on_delete=models.PROTECT, related_name="subscriptions"
    )
    trial_reminded_at = models.DateTimeField(null=True, blank=True)
    # A retention offer taken instead of cancelling (its reason is kept in
    # cancellation_reason): so much off for so many months from then.
    retention_accepted_at = models.DateTimeField(null=True, blank=True)
    retention_percent_off = models.PositiveSmallIntegerField(null=True, blank=True)
    retention_months = models.PositiveSmallIntegerField(null=True, blank=True)
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
            # Insights: the newest subscription change (the dashboard cache's
            # data version) without reading every subscription.
            models.Index(fields=["updated_at"], name="billing_sub_updated"),
            # Insights: the few retention offers taken, for MRR after discounts.
            models.Index(
                fields=["retention_accepted_at"],
                condition=Q(retention_accepted_at__isnull=False),
                name="billing_sub_retention",
            ),
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
    # The part of `amount` that was tax.
    tax_amount = models.PositiveIntegerField(default=0)
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

    @property
    def display_tax(self) -> str:
        return format_money(self.tax_amount, self.currency)


class Invoice(models.Model):
    """The invoice for one payment, as a business files it: numbered in
    sequence, with the seller's and the buyer's details as they were when it
    was issued (later edits to either never change it)."""

    number = models.PositiveIntegerField(unique=True, editable=False)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="invoice")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="billing_invoices",
    )
    issued_at = models.DateTimeField()
    description = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="usd")
    total = models.PositiveIntegerField()
    tax_amount = models.PositiveIntegerField(default=0)
    prices_include_tax = models.BooleanField(default=False)
    # Where the tax was owed: the shipping address's country for print, the
    # buyer's billing address's otherwise.
    tax_country = models.CharField(max_length=2, blank=True)
    seller_name = models.CharField(max_length=200)
    seller_address = models.TextField(blank=True)
    seller_tax_id = models.CharField(max_length=50, blank=True)
    buyer_name = models.CharField(max_length=200, blank=True)
    buyer_email = models.EmailField(blank=True)
    buyer_address = models.TextField(blank=True)
    buyer_tax_id = models.CharField(max_length=50, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return self.reference

    @property
    def reference(self) -> str:
        return f"INV-{self.number:06d}"

    @property
    def net_amount(self) -> int:
        return self.total - self.tax_amount

    @property
    def display_total(self) -> str:
        return format_money(self.total, self.currency)

    @property
    def display_tax(self) -> str:
        return format_money(self.tax_amount, self.currency)

    @property
    def display_net(self) -> str:
        return format_money(self.net_amount, self.currency)


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


class OrganisationQuerySet(ReportingQuerySet["Organisation"]):
    # An organisation's bulk writes change its seat holders' entitlement
    # (serving/invalidation.py).
    report_field = "pk"


class Organisation(models.Model):
    """A company, library or university that buys access for many readers.

    Readers get in three ways: a seat (invited by the organisation's manager,
    or taken automatically by signing in with a verified address at one of
    its `domains`, up to `seats`), or a request from one of its IP ranges
    (`OrganisationNetwork`), which needs no sign-in at all.

    Its access runs while its Stripe `subscription` (quantity = seats) is
    entitled, or, for one staff manage by contract without Stripe, between
    `contract_starts` and `contract_ends`.
    """

    name = models.CharField(max_length=200)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="organisations")
    seats = models.PositiveIntegerField(
        default=5, help_text=_("How many readers may hold a seat at once.")
    )
    domains = models.TextField(
        blank=True,
        help_text=_(
            "Email domains whose verified addresses take a seat on sign-in, one per line "
            "(example.edu)."
        ),
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_organisations",
        help_text=_("Invites and removes readers from their account page."),
    )
    subscription = models.OneToOneField(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="organisation",
    )
    contract_starts = models.DateField(null=True, blank=True)
    contract_ends = models.DateField(null=True, blank=True)
    pays_by_invoice = models.BooleanField(
        default=False,
        help_text=_("Stripe emails an invoice to pay by bank transfer instead of charging a card."),
    )
    billing_email = models.EmailField(blank=True)
    days_until_due = models.PositiveSmallIntegerField(default=30)
    access_notice = models.CharField(
        max_length=200,
        blank=True,
        help_text=_("Shown on pages read through its IP ranges: Access provided by …"),
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def domain_list(self) -> list[str]:
        return [
            line.strip().lower().lstrip("@") for line in self.domains.splitlines() if line.strip()
        ]


class OrganisationSeatQuerySet(ReportingQuerySet["OrganisationSeat"]):
    # A seat's bulk writes change its holder's entitlement.
    report_field = "member_id"


class OrganisationSeat(models.Model):
    """One reader's place in an organisation: invited by email (the member is
    set when they accept) or taken through a verified address at one of its
    domains."""

    class Source(models.TextChoices):
        INVITE = "invite", _("Invited")
        DOMAIN = "domain", _("Email domain")

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="seat_holders"
    )
    email = models.EmailField()
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="organisation_seats",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.INVITE)
    token_hash = models.CharField(max_length=64, blank=True)
    invited_at = models.DateTimeField(default=timezone.now)
    accepted_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    objects = OrganisationSeatQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "email"], name="billing_seat_unique_email"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} at {self.organisation}"


class OrganisationNetworkQuerySet(ReportingQuerySet["OrganisationNetwork"]):
    # Bulk writes to IP ranges change who reads by range (serving/invalidation.py).
    report_field = "organisation_id"


class OrganisationNetwork(models.Model):
    """An IPv4 or IPv6 range (CIDR) from which requests read as the
    organisation's, without signing in."""

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="networks"
    )
    cidr = models.CharField(max_length=50, help_text=_("192.0.2.0/24 or 2001:db8::/32"))

    objects = OrganisationNetworkQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "cidr"], name="billing_network_unique"),
        ]

    def __str__(self) -> str:
        return self.cidr

    def clean(self) -> None:
        import ipaddress

        try:
            self.cidr = str(ipaddress.ip_network(self.cidr.strip(), strict=False))
        except ValueError as error:
            raise ValidationError({"cidr": _("Not an IP range: %(error)s") % {"error": error}})


class InstitutionalUse(models.Model):
    """Counts for the monthly usage report libraries expect: one row per
    organisation, month and kind of use."""

    class Kind(models.TextChoices):
        ARTICLE_VIEW = "article_view", _("Article views")
        DOWNLOAD = "download", _("Downloads")

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="uses")
    month = models.DateField(help_text=_("The first day of the month."))
    kind = models.CharField(max_length=20, choices=Kind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "month", "kind"], name="billing_use_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.month:%Y-%m} {self.kind}: {self.count}"
