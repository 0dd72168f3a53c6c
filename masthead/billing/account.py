"""What the account page shows of a member's billing, in one object."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from . import actions, gateway
from .entitlements import Entitlement, current_entitlement
from .models import (
    IssuePurchase,
    Organisation,
    OrganisationSeat,
    Payment,
    Price,
    Refund,
    Subscription,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from masthead.accounts.models import User


@dataclass
class BoughtIssue:
    purchase: IssuePurchase
    refundable: bool
    refund_deadline: datetime | None


@dataclass
class AccountBilling:
    entitlement: Entitlement | None = None
    subscription: Subscription | None = None  # the paid one that still bills
    grants: list[Subscription] = field(default_factory=list)  # current gifts and complimentary
    refund: Refund | None = None
    can_refund: bool = False
    refund_deadline: datetime | None = None
    refund_refusal: str = ""
    payments: list[Payment] = field(default_factory=list)
    switch_to: list[Price] = field(default_factory=list)
    test_mode: bool = False
    portal: bool = False
    needs_address: bool = False
    issues: list[BoughtIssue] = field(default_factory=list)  # single issues kept
    managed: list[Organisation] = field(default_factory=list)  # organisations they manage
    seats: list[OrganisationSeat] = field(default_factory=list)  # seats they hold


def summary(member: "User | AnonymousUser | None", now: datetime | None = None) -> AccountBilling:
    now = now or timezone.now()
    billing = AccountBilling(test_mode=gateway.test_mode())
    if member is None or not member.is_authenticated:
        return billing
    billing.entitlement = current_entitlement(member, now)
    billing.subscription = actions.live_subscription(member)
    billing.grants = list(
        Subscription.objects.filter(
            member=member,
            status__in=(Subscription.Status.GIFT, Subscription.Status.COMPLIMENTARY),
            ended_at__isnull=True,
        )
        .select_related("plan")
        .order_by("ends_at")
    )
    billing.refund = Refund.objects.filter(member=member).first()
    refundable, problem = actions.refundable_subscription(member, now)
    billing.can_refund = problem is None
    billing.refund_deadline = actions.refund_deadline(refundable)
    billing.refund_refusal = problem or ""
    billing.payments = list(
        Payment.objects.filter(member=member).select_related(
            "subscription__plan", "gift", "invoice", "issue_purchase__issue"
        )[:12]
    )
    billing.issues = [
        BoughtIssue(
            purchase,
            actions.issue_refund_problem(purchase, now) is None,
            actions.issue_refund_deadline(purchase),
        )
        for purchase in IssuePurchase.objects.filter(
            member=member, status=IssuePurchase.Status.PAID
        ).select_related("issue")
    ]
    billing.managed = list(Organisation.objects.filter(manager=member))
    billing.seats = list(
        OrganisationSeat.objects.filter(member=member, accepted_at__isnull=False).select_related(
            "organisation__plan"
        )
    )
    subscription = billing.subscription
    if subscription is not None:
        billing.portal = not subscription.is_test_mode and not billing.test_mode
        if subscription.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
            offered = Price.objects.filter(active=True, plan__active=True)
            if subscription.price_id is not None:
                offered = offered.exclude(pk=subscription.price_id)
            billing.switch_to = list(offered.select_related("plan"))
        if subscription.plan.includes_print:
            billing.needs_address = not actions.member_has_shipping_address(member)
    return billing
