"""The publisher's billing screens in the Wagtail admin: plans and prices
(with "Create on Stripe"), offers with their counts, complimentary grants,
organisations with their seats, domains and IP ranges, and read-only lists of
subscriptions, cancellations, refunds and gifts with their reasons.

Wagtail ships no type information: its base classes and what their methods
return are Any here, and the overrides below say what they hand back."""

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.utils import quote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from wagtail import hooks
from wagtail.admin.forms import WagtailAdminModelForm
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel, ObjectList
from wagtail.admin.ui.menus import MenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import CreateView, EditView, IndexView
from wagtail.admin.viewsets.model import ModelViewSet, ModelViewSetGroup
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permission_policies import ModelPermissionPolicy
from wagtail.permissions import register_permission_policy

from masthead.accounts.models import User

from . import actions
from .forms import parse_networks
from .models import (
    BillingAuditLog,
    ComplimentaryGrant,
    Gift,
    Invoice,
    IssuePurchase,
    Offer,
    Organisation,
    OrganisationNetwork,
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


class OrganisationForm(WagtailAdminModelForm):
    """The organisation's fields, its manager by email and its IP ranges as
    lines of text (checked line by line)."""

    manager_email = forms.EmailField(
        required=False,
        label="Manager's email",
        help_text="A member's address: they invite and remove readers from their account page.",
    )
    networks = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="IP ranges",
        help_text="One per line: 192.0.2.0/24 or 2001:db8::/32. Requests from them read "
        "as the organisation's, without signing in.",
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if instance.pk:
            self.initial["manager_email"] = instance.manager.email if instance.manager else ""
            self.initial["networks"] = "\n".join(
                instance.networks.order_by("cidr").values_list("cidr", flat=True)
            )

    def clean_manager_email(self) -> User | None:
        email = self.cleaned_data.get("manager_email") or ""
        if not email:
            return None
        manager: User | None = User.objects.filter(email__iexact=email.strip()).first()
        if manager is None:
            raise forms.ValidationError(
                "No member has this address; they sign up first, then you name them here."
            )
        return manager

    def clean_networks(self) -> list[str]:
        return parse_networks(self.cleaned_data.get("networks") or "")

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean()
        starts, ends = data.get("contract_starts"), data.get("contract_ends")
        if starts and ends and ends < starts:
            self.add_error("contract_ends", "The contract cannot end before it starts.")
        if data.get("pays_by_invoice") and not (
            data.get("billing_email") or data.get("manager_email")
        ):
            self.add_error("billing_email", "Invoices go to this address: it is needed.")
        return data


def _save_networks(organisation: Organisation, ranges: list[str], actor: object) -> None:
    before = set(organisation.networks.values_list("cidr", flat=True))
    if before == set(ranges):
        return
    organisation.networks.exclude(cidr__in=ranges).delete()
    OrganisationNetwork.objects.bulk_create(
        [
            OrganisationNetwork(organisation=organisation, cidr=cidr)
            for cidr in ranges
            if cidr not in before
        ]
    )
    actions.audit(
        "organisation_networks_changed",
        actor=actor if isinstance(actor, User) else None,
        organisation=organisation.pk,
        networks=ranges,
    )


class _BillingErrorsAsFormErrors:
    """What Stripe or the rules refuse shows on the form, not as a 500."""

    def form_valid(self, form: forms.Form) -> HttpResponse:
        try:
            response: HttpResponse = super().form_valid(form)  # type: ignore[misc]
        except actions.BillingError as error:
            form.add_error(None, error.message)
        except GatewayError as error:
            form.add_error(None, f"Stripe refused: {error}")
        else:
            return response
        self.produced_error_message = self.get_error_message()  # type: ignore[attr-defined]
        invalid: HttpResponse = self.form_invalid(form)  # type: ignore[attr-defined]
        return invalid


def _start_invoice_billing(request: HttpRequest, organisation: Organisation) -> None:
    """Start the Stripe subscription of an organisation saved to pay by
    invoice and not billed yet. Run after the admin's save has committed,
    so that a slow or refusing Stripe holds no transaction open and undoes
    nothing; a refusal is said on the next page, and saving again retries."""
    if not organisation.pays_by_invoice or organisation.subscription_id is not None:
        return
    actor = request.user if isinstance(request.user, User) else None
    try:
        actions.bill_by_invoice(organisation, actor=actor)
    except (actions.BillingError, GatewayError) as error:
        messages.error(
            request,
            f"{organisation.name} is saved, but its invoice billing has not started: "
            f"{error.message} Save it again to retry.",
        )


class OrganisationIndexView(IndexView):
    def get_base_queryset(self) -> "QuerySet[Organisation]":
        organisations: QuerySet[Organisation] = super().get_base_queryset()
        return organisations.select_related("plan", "manager").annotate(
            seats_taken=Count("seat_holders")
        )


class OrganisationCreateView(_BillingErrorsAsFormErrors, CreateView):
    def save_instance(self) -> Organisation:
        data = self.form.cleaned_data
        actor = self.request.user if isinstance(self.request.user, User) else None
        organisation = actions.create_organisation(
            name=data["name"],
            plan=data["plan"],
            seats=data["seats"],
            manager=data.get("manager_email"),
            domains=data.get("domains", ""),
            pays_by_invoice=data.get("pays_by_invoice", False),
            billing_email=data.get("billing_email", ""),
            days_until_due=data.get("days_until_due") or 30,
            contract_starts=data.get("contract_starts"),
            contract_ends=data.get("contract_ends"),
            access_notice=data.get("access_notice", ""),
            actor=actor,
            start_billing=False,
        )
        if not data.get("active", True):
            organisation.active = False
            organisation.save(update_fields=["active"])
        _save_networks(organisation, data.get("networks") or [], actor)
        return organisation

    def form_valid(self, form: forms.Form) -> HttpResponse:
        response = super().form_valid(form)
        if response.status_code in (301, 302):
            _start_invoice_billing(self.request, self.object)
        return response


class OrganisationEditView(_BillingErrorsAsFormErrors, EditView):
    def form_valid(self, form: forms.Form) -> HttpResponse:
        # Stripe first, outside Wagtail's save transaction: a refusal leaves
        # the form as the publisher filled it, with the reason, and nothing
        # saved.
        actor = self.request.user if isinstance(self.request.user, User) else None
        seats = form.cleaned_data["seats"]
        stored = Organisation.objects.select_related("subscription").get(pk=self.object.pk)
        if seats != stored.seats:
            try:
                actions.change_seats(stored, seats, actor=actor)
            except actions.BillingError as error:
                form.add_error("seats", error.message)
            except GatewayError as error:
                form.add_error("seats", f"Stripe refused the new number of seats: {error.message}")
            if form.errors:
                self.produced_error_message = self.get_error_message()
                invalid: HttpResponse = self.form_invalid(form)
                return invalid
        response = super().form_valid(form)
        if response.status_code in (301, 302):
            _start_invoice_billing(self.request, self.object)
        return response

    def save_instance(self) -> Organisation:
        data = self.form.cleaned_data
        actor = self.request.user if isinstance(self.request.user, User) else None
        organisation: Organisation = self.form.save(commit=False)
        organisation.manager = data.get("manager_email")
        organisation.save()
        actions.audit("organisation_changed", actor=actor, organisation=organisation.pk)
        released = actions.release_domain_seats(organisation, actor=actor)
        if released:
            messages.info(
                self.request,
                f"Seats freed, as their domains are no longer listed: {', '.join(released)}.",
            )
        _save_networks(organisation, data.get("networks") or [], actor)
        return organisation


class OrganisationViewSet(ModelViewSet):
    model = Organisation
    add_to_reference_index = False
    icon = "group"
    menu_label = "Organisations"
    url_prefix = "billing/organisations"
    name = "billing_organisations"
    copy_view_enabled = False
    index_view_class = OrganisationIndexView
    add_view_class = OrganisationCreateView
    edit_view_class = OrganisationEditView
    list_display = [
        "name",
        "plan",
        Column("seats_taken", label="Seats taken"),
        "seats",
        "pays_by_invoice",
        "contract_ends",
        "active",
    ]
    list_filter = ["active", "pays_by_invoice"]
    search_fields = ["name", "domains"]
    edit_handler = ObjectList(
        [
            FieldPanel("name"),
            FieldRowPanel([FieldPanel("plan"), FieldPanel("seats")]),
            FieldPanel("manager_email"),
            FieldPanel("domains"),
            FieldPanel("networks"),
            FieldPanel("access_notice"),
            MultiFieldPanel(
                [FieldRowPanel([FieldPanel("contract_starts"), FieldPanel("contract_ends")])],
                heading="Contract (access without Stripe)",
            ),
            MultiFieldPanel(
                [
                    FieldPanel("pays_by_invoice"),
                    FieldRowPanel([FieldPanel("billing_email"), FieldPanel("days_until_due")]),
                ],
                heading="Invoices",
            ),
            FieldPanel("active"),
        ],
        base_form_class=OrganisationForm,
    )


class BillingGroup(ModelViewSetGroup):
    menu_label = "Billing"
    menu_icon = "tag"
    menu_order = 400
    items = (
        SubscriptionViewSet,
        CancellationViewSet,
        RefundViewSet,
        ComplimentaryViewSet,
        OrganisationViewSet,
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
