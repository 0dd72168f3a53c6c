"""A member's own print delivery: vacation holds."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode

from masthead.billing import entitlements

from .actions import cancel_vacation_hold, current_holds, holdable_issue_dates, place_vacation_hold
from .forms import CancelHoldForm, VacationHoldForm
from .models import VacationHold


def _sign_in_url(next_url):
    try:
        base = reverse("accounts:sign_in")
    except NoReverseMatch:
        base = "/account/sign-in/"
    return f"{base}?{urlencode({'next': next_url})}"


def includes_print(user):
    entitlement = entitlements.current_entitlement(user)
    return entitlement is not None and entitlement.includes_print


def vacation_hold(request):
    if not request.user.is_authenticated:
        return redirect(_sign_in_url(request.get_full_path()))
    entitled = includes_print(request.user)
    issue_dates = holdable_issue_dates()
    form = VacationHoldForm(issue_dates=issue_dates)
    if request.method == "POST":
        if "cancel" in request.POST:
            cancel = CancelHoldForm(request.POST)
            if not cancel.is_valid():
                return HttpResponseBadRequest("No such hold.", content_type="text/plain")
            hold = get_object_or_404(
                VacationHold, pk=cancel.cleaned_data["cancel"], member=request.user
            )
            cancel_vacation_hold(hold)
            messages.success(request, "Your hold is cancelled: print delivery resumes.")
            return redirect("printing:hold")
        form = VacationHoldForm(request.POST, issue_dates=issue_dates)
        if not entitled:
            form.add_error(None, "Your subscription does not include print copies.")
        elif form.is_valid():
            try:
                hold = place_vacation_hold(
                    request.user,
                    form.cleaned_data["first_issue_date"],
                    form.cleaned_data["last_issue_date"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    f"No print copies from {hold.first_issue_date:%B %-d} to "
                    f"{hold.last_issue_date:%B %-d, %Y}.",
                )
                return redirect("printing:hold")
    response = render(
        request,
        "printing/hold.html",
        {"form": form, "holds": current_holds(request.user), "entitled": entitled},
    )
    patch_cache_control(response, private=True)
    return response
