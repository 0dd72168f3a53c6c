import unicodedata
from collections.abc import Iterable
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.html import strip_tags

from .models import Gift, Plan
from .remote import Buyer


class ReasonForm(forms.Form):
    """The optional one-line "why" on cancellations and refunds."""

    reason = forms.CharField(label="Why? (optional)", max_length=200, required=False, strip=True)


def country_choices(codes: Iterable[str]) -> list[tuple[str, str]]:
    from masthead.accounts.countries import COUNTRIES

    return [("", "Choose a country")] + [(code, COUNTRIES.get(code, code)) for code in codes]


class ShippingAddressForm(forms.Form):
    """Where print copies go; checked by accounts' address rules."""

    ship_name = forms.CharField(label="Name", max_length=200)
    line1 = forms.CharField(label="Address", max_length=200)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(label="City", max_length=100)
    state = forms.CharField(label="State, province or region", max_length=100, required=False)
    postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    country = forms.ChoiceField(label="Country")

    def __init__(self, *args: Any, countries: Iterable[str] = (), **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        country = self.fields["country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices(countries)

    def clean(self) -> dict[str, Any] | None:
        from masthead.accounts.addresses import validate_address

        data = super().clean()
        if self.errors:
            return data
        try:
            validate_address(self.address_fields())
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                target = {"region": "state", "name": "ship_name"}.get(field, field)
                for message in messages:
                    self.add_error(target if target in self.fields else None, message)
        return data

    def address_fields(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "name": data.get("ship_name", ""),
            "line1": data.get("line1", ""),
            "line2": data.get("line2", ""),
            "city": data.get("city", ""),
            "state": data.get("state", ""),
            "postal_code": data.get("postal_code", ""),
            "country": data.get("country", ""),
        }

    def stripe_shipping(self) -> dict[str, Any]:
        """The address as Stripe Checkout reports it."""
        fields = self.address_fields()
        name = fields.pop("name")
        return {"name": name, "address": fields}


class BillingDetailsForm(forms.Form):
    """What Stripe Checkout asks for when tax is collected: the billing
    address (where tax is owed for digital sales) and, for a business, its
    name and tax ID for the invoice."""

    business_name = forms.CharField(
        label="Business name (optional)", max_length=150, required=False
    )
    tax_id = forms.CharField(label="VAT or tax ID (optional)", max_length=50, required=False)
    billing_line1 = forms.CharField(label="Billing address", max_length=200, required=False)
    billing_city = forms.CharField(label="City", max_length=100, required=False)
    billing_postal_code = forms.CharField(label="Postal code", max_length=20, required=False)
    billing_country = forms.ChoiceField(label="Country")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from masthead.accounts.countries import COUNTRIES

        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        country = self.fields["billing_country"]
        assert isinstance(country, forms.ChoiceField)
        country.choices = country_choices(sorted(COUNTRIES))

    def buyer(self, name: str, email: str) -> Buyer:
        """The details as Checkout reports them: the business's name when
        one is given, else the member's."""
        data = self.cleaned_data
        address = {
            "line1": data.get("billing_line1", ""),
            "city": data.get("billing_city", ""),
            "postal_code": data.get("billing_postal_code", ""),
            "country": data.get("billing_country", ""),
        }
        return Buyer(
            name=data.get("business_name") or name,
            email=email,
            address={key: value for key, value in address.items() if value},
            tax_id=data.get("tax_id", "").replace(" ", "").upper(),
        )


class TestCardForm(forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    card_number = forms.CharField(label="Card number", max_length=23)
    expiry = forms.CharField(label="Expiry (MM / YY)", max_length=7)
    cvc = forms.CharField(label="CVC", max_length=4)
    card_name = forms.CharField(label="Name on card", max_length=200, required=False)

    def clean_expiry(self) -> tuple[int, int]:
        value: str = self.cleaned_data["expiry"].replace(" ", "")
        month, _, year = value.partition("/")
        if not (month.isdigit() and year.isdigit()):
            raise ValidationError("Enter the expiry as MM / YY.")
        return int(month), int(year)


MESSAGE_MAX_LENGTH = 500
MESSAGE_MAX_LINES = 12


class GiftForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.filter(active=True), empty_label=None, label="Plan"
    )
    months = forms.TypedChoiceField(
        choices=Gift.Months.choices, coerce=int, initial=12, label="Length"
    )
    recipient_email = forms.EmailField(label="Their email address")
    recipient_name = forms.CharField(label="Their name", max_length=200, required=False)
    message = forms.CharField(
        label="A message (optional)",
        max_length=MESSAGE_MAX_LENGTH,
        required=False,
        widget=forms.Textarea,
        help_text=f"Plain text, up to {MESSAGE_MAX_LENGTH} characters.",
    )

    def clean_recipient_name(self) -> str:
        name: str = self.cleaned_data["recipient_name"]
        if _has_control_characters(name, allowed=""):
            raise ValidationError("Enter the name on one line.")
        return _refuse_markup(name)

    def clean_message(self) -> str:
        """The message goes by email to an address the buyer chooses: plain
        text only, so it cannot pass for the magazine's own markup."""
        message: str = self.cleaned_data["message"].replace("\r\n", "\n").replace("\r", "\n")
        if _has_control_characters(message, allowed="\n\t"):
            raise ValidationError("The message can only hold plain text.")
        if message.count("\n") >= MESSAGE_MAX_LINES:
            raise ValidationError(f"Keep the message to {MESSAGE_MAX_LINES} lines or fewer.")
        return _refuse_markup(message)


def _has_control_characters(text: str, *, allowed: str) -> bool:
    return any(unicodedata.category(char) in ("Cc", "Cf") and char not in allowed for char in text)


def _refuse_markup(text: str) -> str:
    if strip_tags(text) != text:
        raise ValidationError("Write it as plain text, without HTML.")
    return text


class BuySeatsForm(forms.Form):
    """An organisation buying seats by card: its name, the plan, how many."""

    name = forms.CharField(label="Organisation's name", max_length=200, strip=True)
    plan = forms.ModelChoiceField(
        label="Plan", queryset=Plan.objects.none(), empty_label=None, to_field_name="code"
    )
    seats = forms.IntegerField(
        label="Seats",
        help_text="How many readers may read at once. You can add or remove seats later.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .actions import MAX_BOUGHT_SEATS, MIN_BOUGHT_SEATS

        super().__init__(*args, **kwargs)
        plan = self.fields["plan"]
        assert isinstance(plan, forms.ModelChoiceField)
        plan.queryset = (
            Plan.objects.filter(active=True, prices__active=True)
            .distinct()
            .order_by("sort_order", "name")
        )
        seats = self.fields["seats"]
        assert isinstance(seats, forms.IntegerField)
        seats.widget.attrs.update(min=MIN_BOUGHT_SEATS, max=MAX_BOUGHT_SEATS)

    def clean_seats(self) -> int:
        from .actions import seats_problem

        seats: int = self.cleaned_data["seats"]
        problem = seats_problem(seats)
        if problem:
            raise ValidationError(problem)
        return seats


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", max_length=254)


def parse_networks(text: str) -> list[str]:
    """IP ranges one per line, each checked, as CIDR; a ValidationError names
    every line that is not one."""
    import ipaddress

    ranges: list[str] = []
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            network = str(ipaddress.ip_network(line, strict=False))
        except ValueError:
            problems.append(f"Line {number}: {line[:60]!r} is not an IP range (192.0.2.0/24).")
            continue
        if network not in ranges:
            ranges.append(network)
    if problems:
        raise ValidationError(problems)
    return ranges
