"""Readers' side of newsletters: sign-up with only an email (double
opt-in), confirming, one-click unsubscribe, choosing newsletters on the
account page, a mailing in the browser; and the provider's tracking
webhook. Views parse and answer; the changes are in `actions`."""

import base64

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from masthead.accounts import ratelimit

from . import actions
from .delivery import read_unsubscribe_token
from .models import Mailing, Newsletter, NewsletterSubscription
from .render import FULL, Personal, cut_for, gate, personalise, render_cut

RATE_LIMITED = "Too many requests. For your security, please wait a few minutes and try again."
# A transparent 1×1 GIF, for the open-tracking pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


class NewsletterSignUpForm(forms.Form):
    email = forms.EmailField(label="Your email address")
    newsletter = forms.ModelChoiceField(
        queryset=Newsletter.objects.none(), to_field_name="slug", empty_label=None
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletter"].queryset = Newsletter.objects.filter(
            is_active=True, audience=Newsletter.Audience.EVERYONE
        )


@never_cache
@require_http_methods(["GET", "POST"])
def sign_up(request):
    """Ask for a newsletter with only an email address. The same answer
    whether or not the address has an account or a link went out."""
    if request.method != "POST":
        initial = {"newsletter": request.GET.get("newsletter")} if request.GET else None
        form = NewsletterSignUpForm(initial=initial)
        return render(request, "mailings/sign_up.html", {"form": form})
    form = NewsletterSignUpForm(request.POST)
    if not form.is_valid():
        return render(request, "mailings/sign_up.html", {"form": form}, status=400)
    email = form.cleaned_data["email"]
    if not ratelimit.allow(
        request, email, ratelimit.LINK_PER_EMAIL_AND_SOURCE, ratelimit.LINK_PER_SOURCE
    ):
        form.add_error(None, RATE_LIMITED)
        return render(request, "mailings/sign_up.html", {"form": form}, status=429)
    if ratelimit.link_due(email):
        actions.request_sign_up(email, form.cleaned_data["newsletter"])
    return redirect("mailings:check_inbox")


def check_inbox(request):
    return render(request, "mailings/check_inbox.html")


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token):
    """GET shows a button; only its POST confirms, so a link scanner that
    fetches the URL neither subscribes anyone nor uses the link up."""
    confirmation = actions.usable_confirmation(token)
    if confirmation is None:
        return render(request, "mailings/link_invalid.html", status=410)
    if request.method != "POST":
        return render(request, "mailings/confirm.html", {"confirmation": confirmation})
    member = actions.confirm_sign_up(token)
    if member is None:
        return render(request, "mailings/link_invalid.html", status=410)
    return render(request, "mailings/confirmed.html", {"newsletter": confirmation.newsletter})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    """RFC 8058 one-click unsubscribe: a POST (from the mailbox provider,
    without a session or CSRF token; the signed token is the authority)
    unsubscribes from this newsletter only. A GET only shows a button."""
    read = read_unsubscribe_token(token)
    if read is None:
        return render(request, "mailings/link_invalid.html", status=404)
    newsletter = Newsletter.objects.filter(pk=read[1]).first()
    if newsletter is None:
        raise Http404
    if request.method != "POST":
        return render(request, "mailings/unsubscribe.html", {"newsletter": newsletter})
    actions.unsubscribe(token)
    return render(request, "mailings/unsubscribed.html", {"newsletter": newsletter})


@never_cache
@login_required
@require_POST
def preferences(request):
    """The account page's newsletter choices: a box per newsletter the
    member may receive."""
    chosen = set(request.POST.getlist("newsletter"))
    for newsletter in actions.subscribed_newsletters(request.user):
        actions.set_newsletter_consent(
            request.user,
            newsletter,
            newsletter.slug in chosen,
            NewsletterSubscription.Source.ACCOUNT,
        )
    messages.success(request, "Your newsletter choices are saved.")
    return redirect("/account/#newsletters")


@never_cache
def view_in_browser(request, mailing_id):
    """A mailing as the reader signed in here may read it: the access rule
    decides, as for the email itself; anyone else gets the teaser."""
    mailing = get_object_or_404(Mailing.objects.select_related("newsletter"), pk=mailing_id)
    visible = mailing.status in (Mailing.Status.SENDING, Mailing.Status.PAUSED, Mailing.Status.SENT)
    if not visible and not request.user.is_staff:
        raise Http404
    user = request.user
    gated_by = gate(mailing)
    cut = cut_for(user, gated_by) if gated_by is not None else FULL
    rendered = render_cut(mailing, cut)
    name = user.get_short_name() if user.is_authenticated else ""
    html, _text = personalise(
        rendered,
        Personal(name, request.build_absolute_uri("/account/#newsletters"), "/account/"),
    )
    response = HttpResponse(html)
    response["Cache-Control"] = "private, no-store"
    response["Vary"] = "Cookie"
    return response


def opened(request, token):
    """The tracking pixel (only in mailings of newsletters that track)."""
    read = read_unsubscribe_token(token)
    if read and read[2]:
        from .models import Delivery

        delivery = Delivery.objects.filter(pk=read[2]).select_related("mailing__newsletter").first()
        if delivery and delivery.mailing.newsletter.track_opens_and_clicks:
            actions.record_tracking_event("opened", delivery.email, delivery.message_id)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
def postmark_tracking(request):
    """Postmark's bounce, complaint and delivery webhooks, through anymail's
    view (basic auth with ANYMAIL_WEBHOOK_SECRET); anymail's tracking signal
    reaches `signals.on_tracking`. Refused outright until a secret is set."""
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return HttpResponseForbidden("Set ANYMAIL_WEBHOOK_SECRET to receive webhooks.")
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView

    return PostmarkTrackingWebhookView.as_view()(request)
