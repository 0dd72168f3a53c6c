"""Sign-in, sign-up and the account page. Views parse forms, call an action
from `actions`, and pick the response; the rules live in the actions.

The Wagtail and Django admins' sign-in forms are here too, wrapped in the
readers' password limits (see `ratelimit`)."""

import logging
from functools import wraps

from django.contrib import admin, messages
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from wagtail.admin.views.account import LoginView as WagtailLoginView
from wagtail.admin.views.account import PasswordResetView as WagtailPasswordResetView

from . import actions, ratelimit
from .forms import (
    AccountPasswordForm,
    DeleteAccountForm,
    EmailChangeForm,
    EmailPreferencesForm,
    PasswordSignInForm,
    ProfileForm,
    ShippingAddressForm,
    SignInLinkForm,
    SignUpForm,
)
from .models import EmailChangeRequest, MagicLink, ShippingAddress
from .next_url import safe_next

logger = logging.getLogger(__name__)

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
RATE_LIMITED = "Too many requests. For your security, please wait a few minutes and try again."


def _next_from(request):
    return safe_next(request.POST.get("next") or request.GET.get("next") or "")


def _allow_link_request(request, email):
    return ratelimit.allow(
        request, email, ratelimit.LINK_PER_EMAIL_AND_SOURCE, ratelimit.LINK_PER_SOURCE
    )


def _allow_password_attempt(request, email):
    return ratelimit.allow(
        request, email, ratelimit.PASSWORD_PER_EMAIL_AND_SOURCE, ratelimit.PASSWORD_PER_SOURCE
    )


def _render_sign_in(request, *, link_form=None, password_form=None, status=200):
    next_url = _next_from(request)
    return render(
        request,
        "accounts/sign_in.html",
        {
            "link_form": link_form or SignInLinkForm(initial={"next": next_url}),
            "password_form": password_form or PasswordSignInForm(initial={"next": next_url}),
            "next": next_url,
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_in(request):
    """Ask for a sign-in link. The answer is the same whether or not the
    address has an account, and whether or not a link went out (one a
    minute per address at most)."""
    if request.user.is_authenticated:
        return redirect(_next_from(request) or "accounts:account")
    if request.method != "POST":
        return _render_sign_in(request)
    form = SignInLinkForm(request.POST)
    if not form.is_valid():
        return _render_sign_in(request, link_form=form)
    email = form.cleaned_data["email"]
    if not _allow_link_request(request, email):
        form.add_error(None, RATE_LIMITED)
        return _render_sign_in(request, link_form=form, status=429)
    if ratelimit.link_due(email):
        actions.request_sign_in_link(email, next_url=safe_next(form.cleaned_data["next"]))
    return redirect("accounts:check_inbox")


@never_cache
@require_POST
def sign_in_password(request):
    """Sign in with email and password, for members who set one."""
    form = PasswordSignInForm(request.POST)
    if not form.is_valid():
        return _render_sign_in(request, password_form=form)
    email = form.cleaned_data["email"]
    if not _allow_password_attempt(request, email):
        form.add_error(None, RATE_LIMITED)
        return _render_sign_in(request, password_form=form, status=429)
    user = authenticate(request, email=email, password=form.cleaned_data["password"])
    if user is None:
        form.add_error(None, "The email address or password is not right.")
        return _render_sign_in(request, password_form=form)
    login(request, user, backend=MODEL_BACKEND)
    actions.record_password_sign_in(user)
    return redirect(safe_next(form.cleaned_data["next"]) or "accounts:account")


@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request):
    """Ask for a link that creates the account; the same answer for an
    address that already has one (its owner gets a sign-in link)."""
    if request.user.is_authenticated:
        return redirect(_next_from(request) or "accounts:account")
    next_url = _next_from(request)
    choices = actions.sign_up_choices()
    if request.method != "POST":
        form = SignUpForm(initial={"next": next_url}, choices=choices)
        return render(request, "accounts/sign_up.html", {"form": form, "next": next_url})
    form = SignUpForm(request.POST, choices=choices)
    if not form.is_valid():
        return render(request, "accounts/sign_up.html", {"form": form, "next": next_url})
    email = form.cleaned_data["email"]
    if not _allow_link_request(request, email):
        form.add_error(None, RATE_LIMITED)
        return render(
            request, "accounts/sign_up.html", {"form": form, "next": next_url}, status=429
        )
    if ratelimit.link_due(email):
        actions.request_sign_up_link(
            email,
            full_name=form.cleaned_data["full_name"],
            next_url=safe_next(form.cleaned_data["next"]),
            choices=form.chosen(),
        )
    return redirect("accounts:check_inbox")


# The admins' sign-in forms -------------------------------------------------------


def _password_limited(view):
    """`view`, a Django sign-in form whose "username" is the email address,
    behind the same password limits as the readers' form. CSRF is checked
    first, so another site cannot spend a reader's allowance."""

    @wraps(view)
    @csrf_protect
    @never_cache
    def limited(request, *args, **kwargs):
        email = request.POST.get("username", "")
        if request.method == "POST" and not _allow_password_attempt(request, email):
            return render(request, "accounts/too_many_requests.html", status=429)
        return view(request, *args, **kwargs)

    return limited


# WAGTAILADMIN_USER_LOGIN_FORM (forms.StaffSignInForm) refuses readers there.
wagtail_admin_sign_in = _password_limited(WagtailLoginView.as_view())


def _link_limited(view):
    """`view`, a form that emails a link to the address in its "email"
    field, behind the same limits as the readers' sign-in links: refused per
    (address, source) and per source, and at most one email a minute to an
    address, the others answered as if sent."""

    @wraps(view)
    @csrf_protect
    @never_cache
    def limited(request, *args, **kwargs):
        if request.method == "POST":
            email = request.POST.get("email", "")
            if not _allow_link_request(request, email):
                return render(request, "accounts/too_many_requests.html", status=429)
            if not ratelimit.link_due(email):
                return redirect("wagtailadmin_password_reset_done")
        return view(request, *args, **kwargs)

    return limited


wagtail_admin_password_reset = _link_limited(WagtailPasswordResetView.as_view())


@_password_limited
def django_admin_sign_in(request):
    # Django's admin form refuses anyone who is not staff as it refuses a
    # wrong password.
    return admin.site.login(request)


def check_inbox(request):
    return render(request, "accounts/check_inbox.html")


def _link_invalid(request):
    return render(request, "accounts/link_invalid.html", status=410)


@never_cache
@require_http_methods(["GET", "POST"])
def magic_link(request, token):
    """GET shows a button; only its POST uses the link, so a mail scanner
    that fetches the URL does not sign anyone in or use the link up."""
    link = MagicLink.objects.find_usable(token)
    if link is None:
        return _link_invalid(request)
    if request.method != "POST":
        return render(request, "accounts/magic_link.html", {"link": link})
    redemption = actions.redeem_magic_link(token)
    if redemption is None:
        return _link_invalid(request)
    login(request, redemption.user, backend=MODEL_BACKEND)  # rotates the session key
    if redemption.created:
        messages.success(request, "Welcome! Your account is ready.")
    return redirect(safe_next(redemption.next_url) or "accounts:account")


@require_http_methods(["GET", "POST"])
def sign_out(request):
    if request.method == "POST":
        logout(request)
        return redirect("/")
    return render(request, "accounts/sign_out.html")


# The account page -----------------------------------------------------------


def _address_initial(user):
    try:
        address = user.shipping_address
    except ShippingAddress.DoesNotExist:
        return {}
    return {field: getattr(address, field) for field in ShippingAddressForm.base_fields}


def _render_account(request, status=200, **forms):
    user = request.user
    context = {
        "profile_form": ProfileForm(initial={"full_name": user.full_name}),
        "email_form": EmailChangeForm(user=user),
        "address_form": ShippingAddressForm(initial=_address_initial(user)),
        "preferences_form": EmailPreferencesForm(
            initial={
                "wants_newsletter": user.wants_newsletter,
                "wants_issue_emails": user.wants_issue_emails,
            }
        ),
        "password_form": AccountPasswordForm(user),
        "has_password": user.has_usable_password(),
        "pending_email_change": EmailChangeRequest.objects.usable().filter(user=user).first(),
        "shipping_address": ShippingAddress.objects.filter(user=user).first(),
    }
    context.update(forms)
    return render(request, "accounts/account.html", context, status=status)


@never_cache
@login_required
def account(request):
    return _render_account(request)


@never_cache
@login_required
@require_POST
def update_profile(request):
    form = ProfileForm(request.POST)
    if not form.is_valid():
        return _render_account(request, profile_form=form)
    actions.update_profile(request.user, full_name=form.cleaned_data["full_name"])
    messages.success(request, "Your name is saved.")
    return redirect("accounts:account")


@never_cache
@login_required
@require_POST
def change_email(request):
    form = EmailChangeForm(request.POST, user=request.user)
    if not form.is_valid():
        return _render_account(request, email_form=form)
    if not ratelimit.EMAIL_CHANGE_PER_USER.hit(request.user.pk):
        form.add_error(None, RATE_LIMITED)
        return _render_account(request, email_form=form, status=429)
    new_email = form.cleaned_data["new_email"]
    actions.request_email_change(request.user, new_email)
    messages.success(
        request,
        f"We sent a link to {new_email}. Your email address changes when you open it.",
    )
    return redirect("accounts:account")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm_email(request, token):
    """Like a magic link: GET shows a button, POST makes the change."""
    change = EmailChangeRequest.objects.find_usable(token)
    if change is None:
        return _link_invalid(request)
    if request.method != "POST":
        return render(request, "accounts/confirm_email.html", {"change": change})
    try:
        user = actions.confirm_email_change(token)
    except actions.EmailInUse:
        return render(request, "accounts/email_in_use.html", status=409)
    if user is None:
        return _link_invalid(request)
    messages.success(request, f"Your email address is now {user.email}.")
    if request.user.is_authenticated and request.user.pk == user.pk:
        return redirect("accounts:account")
    return redirect("accounts:sign_in")


@never_cache
@login_required
@require_POST
def update_address(request):
    form = ShippingAddressForm(request.POST)
    if not form.is_valid():
        return _render_account(request, address_form=form)
    actions.update_shipping_address(request.user, source="account", **form.cleaned_data)
    messages.success(request, "Your shipping address is saved.")
    for notice in actions.address_change_notices(request.user):
        messages.info(request, notice)
    return redirect("accounts:account")


@never_cache
@login_required
@require_POST
def update_preferences(request):
    form = EmailPreferencesForm(request.POST)
    if not form.is_valid():
        return _render_account(request, preferences_form=form)
    actions.update_email_preferences(request.user, **form.cleaned_data)
    messages.success(request, "Your email preferences are saved.")
    return redirect("accounts:account")


@never_cache
@login_required
@require_POST
def set_password(request):
    form = AccountPasswordForm(request.user, request.POST)
    if not form.is_valid():
        return _render_account(request, password_form=form)
    user = actions.set_password(request.user, form.cleaned_data["new_password1"])
    update_session_auth_hash(request, user)  # stay signed in here
    messages.success(request, "Your password is saved. You can sign in with it from now on.")
    return redirect("accounts:account")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def delete_account(request):
    if request.method != "POST":
        form = DeleteAccountForm(user=request.user)
        return render(request, "accounts/delete_account.html", {"form": form})
    form = DeleteAccountForm(request.POST, user=request.user)
    if not form.is_valid():
        return render(request, "accounts/delete_account.html", {"form": form})
    try:
        actions.delete_account(request.user)
    except Exception:
        # A hook (billing cancelling the subscription) failed; nothing was deleted.
        logger.exception("Deleting account %s failed", request.user.pk)
        form.add_error(
            None,
            "Your account could not be deleted just now. Nothing was changed; "
            "please try again in a few minutes.",
        )
        return render(request, "accounts/delete_account.html", {"form": form}, status=503)
    logout(request)
    return redirect("accounts:account_deleted")


def account_deleted(request):
    return render(request, "accounts/account_deleted.html")
