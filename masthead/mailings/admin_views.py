"""The mailing control page and previews in the Wagtail admin. Editors
with the mailing's change permission only."""

from datetime import datetime

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from . import actions
from .delivery import progress
from .models import Mailing, Suppression
from .render import FULL, TEASER, Personal, personalise, render_cut

CUTS = {"subscriber": FULL, "free-member": TEASER}


def _may_edit(user, model):
    return user.is_authenticated and user.has_perm(f"mailings.change_{model._meta.model_name}")


def preview(request, pk, cut):
    """The mailing as a subscriber or as a free member receives it."""
    if not _may_edit(request.user, Mailing) or cut not in CUTS:
        raise PermissionDenied
    mailing = get_object_or_404(Mailing, pk=pk)
    rendered = render_cut(mailing, CUTS[cut])
    html, _text = personalise(rendered, Personal("Reader", "#unsubscribe", "#preferences"))
    return HttpResponse(html)


def mailing_control(request, pk):
    if not _may_edit(request.user, Mailing):
        raise PermissionDenied
    mailing = get_object_or_404(Mailing.objects.select_related("newsletter"), pk=pk)
    if request.method == "POST":
        return _act(request, mailing)
    return TemplateResponse(
        request,
        "mailings/admin/control.html",
        {"mailing": mailing, "progress": progress(mailing), "cuts": CUTS},
    )


def _act(request, mailing):
    action = request.POST.get("action")
    user = request.user
    try:
        if action == "test":
            cut = CUTS.get(request.POST.get("cut"), TEASER)
            actions.send_test(mailing, user, cut)
            messages.success(request, f"Test sent to {user.email}.")
        elif action == "send":
            count = actions.start_mailing(mailing, user)
            messages.success(request, f"Sending to {count} recipient(s).")
        elif action == "schedule":
            when = datetime.fromisoformat(request.POST.get("when", ""))
            if timezone.is_naive(when):
                when = timezone.make_aware(when)
            actions.schedule_mailing(mailing, when, user)
            messages.success(request, "Scheduled.")
        elif action == "pause":
            actions.pause_mailing(mailing, user)
        elif action == "resume":
            actions.resume_mailing(mailing, user)
        elif action == "cancel":
            actions.cancel_mailing(mailing, user)
    except (actions.MailingStateError, ValueError) as error:
        messages.error(request, str(error))
    return redirect("mailings_admin_control", pk=mailing.pk)


def lift(request, pk):
    """GET asks to confirm; POST lifts the suppression."""
    if not _may_edit(request.user, Suppression):
        raise PermissionDenied
    suppression = get_object_or_404(Suppression, pk=pk)
    if request.method != "POST":
        return TemplateResponse(request, "mailings/admin/lift.html", {"suppression": suppression})
    actions.lift_suppression(suppression, request.user)
    messages.success(request, f"{suppression.email} receives newsletters again.")
    return redirect("wagtailsnippets_mailings_suppression:list")
