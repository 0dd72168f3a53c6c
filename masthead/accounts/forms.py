from django import forms
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from wagtail.admin.forms.auth import LoginForm as WagtailLoginForm

from .addresses import validate_address
from .countries import COUNTRIES


class NextField(forms.CharField):
    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=500, **kwargs)


class SignInLinkForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    next = NextField()


class SignUpForm(forms.Form):
    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    full_name = forms.CharField(
        label="Your name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    next = NextField()

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.choices = list(choices)
        for choice in self.choices:
            self.fields[f"choice_{choice.key}"] = forms.BooleanField(
                label=choice.label,
                help_text=choice.description,
                required=False,
                initial=choice.default,
            )

    def chosen(self):
        """{key: ticked} for every box the form offered."""
        return {
            choice.key: bool(self.cleaned_data.get(f"choice_{choice.key}"))
            for choice in self.choices
        }


class PasswordSignInForm(forms.Form):
    """Shown beside SignInLinkForm on the sign-in page: its own ids, so each
    label points at this form's input (the field names stay as they are)."""

    email = forms.EmailField(
        label="Email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username"}),
    )
    password = forms.CharField(
        label="Password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = NextField()

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_password-%s")
        super().__init__(*args, **kwargs)


class StaffSignInForm(WagtailLoginForm):
    """The Wagtail admin's sign-in form (WAGTAILADMIN_USER_LOGIN_FORM). A
    reader's right password gets the same answer as a wrong one and signs no
    one in, so the form tells nobody whether a reader's password is right."""

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.has_perm("wagtailadmin.access_admin"):
            raise self.get_invalid_login_error()


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label="Name",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(
        label="New email address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text="We'll send a link to the new address; the change happens when you open it.",
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_email(self):
        new_email = self.cleaned_data["new_email"].strip().lower()
        if new_email == self.user.email.lower():
            raise ValidationError("That is already your email address.")
        return new_email


class ShippingAddressForm(forms.Form):
    name = forms.CharField(
        label="Recipient name",
        max_length=200,
        required=False,
        help_text="Leave blank to use the name on your account.",
        widget=forms.TextInput(attrs={"autocomplete": "shipping name"}),
    )
    company = forms.CharField(
        label="Company",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "shipping organization"}),
    )
    line1 = forms.CharField(
        label="Address line 1",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "shipping address-line1"}),
    )
    line2 = forms.CharField(
        label="Address line 2",
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "shipping address-line2"}),
    )
    city = forms.CharField(
        label="City or town",
        max_length=100,
        widget=forms.TextInput(attrs={"autocomplete": "shipping address-level2"}),
    )
    region = forms.CharField(
        label="State, province or region",
        max_length=100,
        required=False,
        help_text="For the US and Canada, the two-letter code (NY, ON).",
        widget=forms.TextInput(attrs={"autocomplete": "shipping address-level1"}),
    )
    postal_code = forms.CharField(
        label="Postal or ZIP code",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "shipping postal-code"}),
    )
    country = forms.ChoiceField(
        label="Country",
        choices=[("", "Choose a country"), *COUNTRIES.items()],
        widget=forms.Select(attrs={"autocomplete": "shipping country"}),
    )

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            return validate_address(cleaned)
        except ValidationError as error:
            self.add_error(None, error)
            return cleaned


class EmailPreferencesForm(forms.Form):
    wants_newsletter = forms.BooleanField(label="The editors' newsletter", required=False)
    wants_issue_emails = forms.BooleanField(
        label="An email when a new issue is published", required=False
    )


class AccountPasswordForm(SetPasswordForm):
    """Set or change the optional password. Signing in by email link stays
    possible, so a forgotten password needs no reset flow of its own."""


class DeleteAccountForm(forms.Form):
    confirm_email = forms.EmailField(
        label="Type your email address to confirm",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_confirm_email(self):
        value = self.cleaned_data["confirm_email"]
        if value.strip().lower() != self.user.email.lower():
            raise ValidationError("That is not the email address of this account.")
        return value
