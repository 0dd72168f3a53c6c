"""Newsletters in the Wagtail admin: newsletters and mailings as snippets
(a mailing's body is a StreamField like an article's), a control page per
mailing (preview as a subscriber and as a free member, send a test, send
now, schedule, pause, resume, cancel, progress) and the suppressions list
with "lift"."""

from django.urls import path, reverse
from wagtail import hooks
from wagtail.admin.panels import FieldPanel
from wagtail.admin.widgets import ListingButton
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet, SnippetViewSetGroup

from . import admin_views
from .models import Mailing, Newsletter, Suppression


class NewsletterViewSet(SnippetViewSet):
    model = Newsletter
    icon = "mail"
    menu_label = "Newsletters"
    list_display = ["name", "audience", "default_on", "is_active"]
    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("kind"),
        FieldPanel("audience"),
        FieldPanel("default_on"),
        FieldPanel("from_name"),
        FieldPanel("from_email"),
        FieldPanel("reply_to"),
        FieldPanel("track_opens_and_clicks"),
        FieldPanel("sort_order"),
        FieldPanel("is_active"),
    ]


class MailingViewSet(SnippetViewSet):
    model = Mailing
    icon = "mail"
    menu_label = "Mailings"
    list_display = ["subject", "newsletter", "status", "created_at"]
    list_filter = ["status", "newsletter"]
    panels = [
        FieldPanel("newsletter"),
        FieldPanel("subject"),
        FieldPanel("preheader"),
        FieldPanel("article"),
        FieldPanel("body"),
    ]


class SuppressionViewSet(SnippetViewSet):
    model = Suppression
    icon = "cross"
    menu_label = "Suppressions"
    list_display = ["email", "reason", "created_at", "lifted_at"]
    list_filter = ["reason"]
    panels = [FieldPanel("email"), FieldPanel("reason"), FieldPanel("detail")]


class NewslettersGroup(SnippetViewSetGroup):
    menu_label = "Newsletters"
    menu_icon = "mail"
    menu_order = 250
    items = (MailingViewSet, NewsletterViewSet, SuppressionViewSet)


register_snippet(NewslettersGroup)


@hooks.register("register_admin_urls")
def register_mailing_admin_urls():
    return [
        path(
            "newsletters/mailing/<int:pk>/",
            admin_views.mailing_control,
            name="mailings_admin_control",
        ),
        path(
            "newsletters/mailing/<int:pk>/preview/<str:cut>/",
            admin_views.preview,
            name="mailings_admin_preview",
        ),
        path(
            "newsletters/suppression/<int:pk>/lift/",
            admin_views.lift,
            name="mailings_admin_lift",
        ),
    ]


@hooks.register("register_snippet_listing_buttons")
def mailing_buttons(snippet, user, next_url=None):
    if isinstance(snippet, Mailing):
        yield ListingButton(
            "Preview, test and send",
            reverse("mailings_admin_control", args=[snippet.pk]),
            priority=5,
        )
    if isinstance(snippet, Suppression) and snippet.lifted_at is None:
        yield ListingButton("Lift", reverse("mailings_admin_lift", args=[snippet.pk]), priority=5)
