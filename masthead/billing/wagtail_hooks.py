"""The publisher's billing screens in the Wagtail admin: plans and prices
(with "Create on Stripe"), offers with their counts, complimentary grants, and read-only lists of
subscriptions, cancellations, refunds and gifts with their reasons.

Wagtail ships no type information: its base classes and what their methods
return are Any here, and the overrides below say what they hand back."""

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import F, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.views.generic import CreateView, EditView, IndexView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from masthead.accounts.models import User

from . import actions
from .models import (
    BillingAuditLog,
    ComplimentaryGrant,
    Gift,
    Invoice,
    IssuePurchase,
    Offer,
    Plan,
    Price,
    Refund,
    StripeEvent,
    Subscription,
)
from .remote import GatewayError

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser


class ReadOnlyPolicy(ModelPermissionPolicy):
    """Staff with the model's view (or change) permission may look; nobody
    adds, edits or deletes here: these rows follow Stripe and the actions."""

    def user_has_permission(self, user: "User | AnonymousUser", action: str) -> bool:
        if action != "view":
            return False
        return bool(
            super().user_has_permission(user, "view") or super().user_has_permission(user, "change")
        )

    def user_has_any_permission(self, user: "User | AnonymousUser", actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)

    def user_has_permission_for_instance(
        self, user: "User | AnonymousUser", action: str, instance: Model
    ) -> bool:
        return self.user_has_permission(user, action)


class ReadOnlyViewSet(ModelViewSet):
    # Billing rows change with every webhook; indexing their references
    # would cost a task per save for a "usage" screen nobody needs here.
    add_to_reference_index = False
    inspect_view_enabled = True
    copy_view_enabled = False
    add_to_admin_menu = False
    # Never shown: the policy refuses add and change.
    exclude_form_fields = ["id"]


for _model in (Subscription, Refund, Gift, Invoice, IssuePurchase, StripeEvent, BillingAuditLog):
    register_permission_policy(_model, ReadOnlyPolicy(_model), exact_class=True)


# Plans and prices ----------------------------------------------------------------


class PlanIndexView(IndexView):
    def get_list_more_buttons(self, instance: Plan) -> list[MenuItem]:
        buttons: list[MenuItem] = super().get_list_more_buttons(instance)
        buttons.append(
            MenuItem(
                "Create on Stripe",
                url=reverse("billing_plans:create_on_stripe", args=[quote(instance.pk)]),
                icon_name="upload",
                priority=40,
            )
        )
        return buttons


class PlanEditView(EditView):
    @property
    def header_more_buttons(self) -> list[HeaderButton]:
        buttons: list[HeaderButton] = list(super().header_more_buttons)
        buttons.append(
            HeaderButton(
                "Create on Stripe",
                url=reverse("billing_plans:create_on_stripe", args=[quote(self.object.pk)]),
                icon_name="upload",
            )
        )
        return buttons


class PlanViewSet(ModelViewSet):
    model = Plan
    icon = "tag"
    menu_label = "Plans"
    url_prefix = "billing/plans"
    name = "billing_plans"
    copy_view_enabled = False
    form_fields = ["name", "code", "description", "includes_print", "active", "sort_order"]
    index_view_class = PlanIndexView
    edit_view_class = PlanEditView
    list_display = ["name", "code", "includes_print", "active", "stripe_product_id"]

    def create_on_stripe_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        plan = get_object_or_404(Plan, pk=pk)
        if not self.permission_policy.user_has_permission(request.user, "change"):
            raise PermissionDenied
        if request.method == "POST":
            try:
                actor = request.user if isinstance(request.user, User) else None
                made = actions.create_plan_on_stripe(plan, actor=actor)
            except (actions.BillingError, GatewayError) as error:
                messages.error(request, f"Stripe: {error.message}")
            else:
                messages.success(
                    request,
                    f"{plan.name} is on Stripe ({plan.stripe_product_id}); "
                    f"{len(made)} price(s) created.",
                )
            return redirect(self.get_url_name("index"))
        return TemplateResponse(
            request,
            "billing/admin/create_on_stripe.html",
            {"plan": plan, "prices": plan.prices.all(), "header_title": f"Create {plan} on Stripe"},
        )

    def get_urlpatterns(self) -> list[URLPattern | URLResolver]:
        patterns: list[URLPattern | URLResolver] = super().get_urlpatterns()
        return patterns + [
            path(
                "<id:pk>/create-on-stripe/",
                self.create_on_stripe_view,
                name="create_on_stripe",
            )
        ]


class PriceViewSet(ModelViewSet):
    model = Price
    icon = "tag"
    menu_label = "Prices"
    url_prefix = "billing/prices"
    name = "billing_prices"
    copy_view_enabled = False
    form_fields = ["plan", "interval", "amount", "currency", "trial_days", "active"]
    list_display = [
        "plan",
        "interval",
        "display_amount",
        "currency",
        "trial_days",
        "active",
        "stripe_price_id",
    ]
    list_filter = ["plan", "interval", "active"]


# Offers ----------------------------------------------------------------------------------


class OfferEditView(EditView):
    def save_instance(self) -> Offer:
        before = Offer.objects.get(pk=self.object.pk)
        prices_before = set(before.prices.values_list("pk", flat=True))
        instance: Offer = super().save_instance()
        try:
            actions.offer_changed(instance, before, prices_before)
        except GatewayError as error:
            messages.error(
                self.request,
                f"Saved, but Stripe still has the offer as it was: {error.message}",
            )
        return instance


class OfferViewSet(ModelViewSet):
    """Offers with their counts: landing page views, checkouts started and
    subscriptions bought with them."""

    model = Offer
    add_to_reference_index = False
    icon = "tag"
    menu_label = "Offers"
    url_prefix = "billing/offers"
    name = "billing_offers"
    copy_view_enabled = False
    edit_view_class = OfferEditView
    form_fields = [
        "name",
        "code",
        "headline",
        "description",
        "kind",
        "percent_off",
        "amount_off",
        "currency",
        "duration",
        "duration_in_months",
        "trial_days",
        "trial_end",
        "prices",
        "starts_at",
        "ends_at",
        "max_redemptions",
        "active",
    ]
    list_display = [
        "name",
        "code",
        "summary",
        "ends_at",
        "max_redemptions",
        "views",
        "checkouts",
        "redemptions",
        "active",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["name", "code"]


# Members' subscriptions ----------------------------------------------------------------


class SubscriptionViewSet(ReadOnlyViewSet):
    model = Subscription
    icon = "user"
    menu_label = "Subscriptions"
    url_prefix = "billing/subscriptions"
    name = "billing_subscriptions"
    list_display = [
        "member",
        "plan",
        "status",
        "current_period_end",
        "cancel_at_period_end",
        "created_at",
    ]
    list_filter = ["status", "plan", "cancel_at_period_end"]
    search_fields = ["member__email", "stripe_subscription_id", "stripe_customer_id"]


class CancellationIndexView(IndexView):
    def get_base_queryset(self) -> "QuerySet[Subscription]":
        # Those who stayed for the retention offer too, with their reasons.
        return (
            Subscription.objects.filter(
                Q(canceled_at__isnull=False) | Q(retention_accepted_at__isnull=False)
            )
            .exclude(status=Subscription.Status.REFUNDED)
            .select_related("member", "plan")
            .order_by(F("canceled_at").desc(nulls_last=True), "-retention_accepted_at")
        )


class CancellationViewSet(ReadOnlyViewSet):
    model = Subscription
    icon = "cross"
    menu_label = "Cancellations"
    url_prefix = "billing/cancellations"
    name = "billing_cancellations"
    index_view_class = CancellationIndexView
    list_display = [
        "member",
        "plan",
        "canceled_at",
        "current_period_end",
        "cancellation_reason",
        "retention_accepted_at",
        "status",
    ]


class RefundViewSet(ReadOnlyViewSet):
    model = Refund
    icon = "resubmit"
    menu_label = "Refunds"
    url_prefix = "billing/refunds"
    name = "billing_refunds"
    list_display = [
        "member",
        "subscription",
        "display_amount",
        "status",
        "reason",
        "requested_at",
        "completed_at",
    ]
    list_filter = ["status"]


class GiftViewSet(ReadOnlyViewSet):
    model = Gift
    icon = "pick"
    menu_label = "Gifts"
    url_prefix = "billing/gifts"
    name = "billing_gifts"
    list_display = [
        "recipient_email",
        "plan",
        "months",
        "display_amount",
        "status",
        "buyer_email",
        "redeemed_at",
    ]
    list_filter = ["status", "plan"]


class InvoiceViewSet(ReadOnlyViewSet):
    model = Invoice
    icon = "doc-full"
    menu_label = "Invoices"
    url_prefix = "billing/invoices"
    name = "billing_invoices"
    list_display = [
        "reference",
        "issued_at",
        "buyer_name",
        "buyer_tax_id",
        "tax_country",
        "display_tax",
        "display_total",
    ]
    list_filter = ["tax_country"]


class StripeEventViewSet(ReadOnlyViewSet):
    model = StripeEvent
    icon = "code"
    menu_label = "Stripe events"
    url_prefix = "billing/events"
    name = "billing_events"
    list_display = ["event_id", "type", "status", "attempts", "received_at", "processed_at"]
    list_filter = ["status", "type"]


class AuditLogViewSet(ReadOnlyViewSet):
    model = BillingAuditLog
    icon = "history"
    menu_label = "Billing log"
    url_prefix = "billing/log"
    name = "billing_log"
    list_display = ["created_at", "action", "member", "actor", "subscription"]
    list_filter = ["action"]


# Complimentary grants ---------------------------------------------------------------------


class GrantIndexView(IndexView):
    def get_base_queryset(self) -> "QuerySet[ComplimentaryGrant]":
        return ComplimentaryGrant.objects.filter(
            status=Subscription.Status.COMPLIMENTARY
        ).select_related("member", "plan")


class GrantCreateView(CreateView):
    def save_instance(self) -> Subscription:
        data = self.form.cleaned_data
        granted: Subscription = actions.grant_complimentary(
            data["member"],
            data["plan"],
            ends_at=data.get("ends_at"),
            granted_by=self.request.user,
            note=data.get("note", ""),
        )
        return granted


class GrantEditView(EditView):
    def get_base_queryset(self) -> "QuerySet[ComplimentaryGrant]":
        return ComplimentaryGrant.objects.filter(status=Subscription.Status.COMPLIMENTARY)

    def save_instance(self) -> ComplimentaryGrant:
        instance: ComplimentaryGrant = super().save_instance()
        actions.audit(
            "complimentary_changed",
            subscription=instance,
            actor=self.request.user,
            ends_at=str(instance.ends_at or ""),
        )
        return instance


class ComplimentaryViewSet(ModelViewSet):
    model = ComplimentaryGrant
    add_to_reference_index = False
    icon = "pick"
    menu_label = "Complimentary"
    url_prefix = "billing/complimentary"
    name = "billing_complimentary"
    copy_view_enabled = False
    index_view_class = GrantIndexView
    add_view_class = GrantCreateView
    edit_view_class = GrantEditView
    list_display = ["member", "plan", "ends_at", "granted_by", "note"]
    form_fields = ["member", "plan", "ends_at", "note"]
    panels = [FieldPanel("member"), FieldPanel("plan"), FieldPanel("ends_at"), FieldPanel("note")]


class IssuePurchaseViewSet(ReadOnlyViewSet):
    model = IssuePurchase
    icon = "doc-full"
    menu_label = "Single issues"
    url_prefix = "billing/single-issues"
    name = "billing_single_issues"
    list_display = ["issue", "member", "display_amount", "status", "paid_at", "refunded_at"]
    list_filter = ["status"]


class BillingGroup(ModelViewSetGroup):
    menu_label = "Billing"
    menu_icon = "tag"
    menu_order = 400
    items = (
        SubscriptionViewSet,
        CancellationViewSet,
        RefundViewSet,
        ComplimentaryViewSet,
        GiftViewSet,
        InvoiceViewSet,
        IssuePurchaseViewSet,
        PlanViewSet,
        PriceViewSet,
        OfferViewSet,
        StripeEventViewSet,
        AuditLogViewSet,
    )


@hooks.register("register_admin_viewset")
def register_billing_viewsets() -> BillingGroup:
    return BillingGroup()
