"""The audio app in the Wagtail admin: the pronunciation lexicon, the
narrations report, a narration button on each article's edit view, and the
log actions narrations write to an article's history."""

from django.urls import include, path, reverse
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.widgets import Button
from wagtail.snippets.models import register_snippet
from wagtail.snippets.views.snippets import SnippetViewSet

from masthead.newsroom.models import ArticlePage

from . import admin_views
from .feeds import duration_text
from .models import Narration, Pronunciation


class PronunciationViewSet(SnippetViewSet):
    model = Pronunciation
    icon = "openquote"
    menu_label = "Pronunciations"
    menu_order = 210
    add_to_admin_menu = True
    list_display = ["phrase", "respelling", "ipa", "updated_at"]
    search_fields = ["phrase", "respelling"]


register_snippet(PronunciationViewSet)


admin_urls = [
    path("narrations/", admin_views.NarrationReportView.as_view(), name="narrations"),
    path(
        "narrations/<id:article_id>/",
        admin_views.NarrationDetailView.as_view(),
        name="narration",
    ),
    path("pronunciations/listen/", admin_views.listen, name="listen"),
]


@hooks.register("register_admin_urls")
def register_audio_admin_urls():
    return [path("audio/", include((admin_urls, "audio_admin"), namespace="audio_admin"))]


class NarrationsMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("wagtailadmin.access_admin")


@hooks.register("register_reports_menu_item")
def register_narrations_report():
    return NarrationsMenuItem(
        "Narrations", reverse("audio_admin:narrations"), icon_name="media", order=1300
    )


@hooks.register("register_page_header_buttons")
def narration_header_button(page, user, view_name, next_url=None):
    if not isinstance(page.specific_deferred, ArticlePage):
        return []
    narration = Narration.objects.filter(article_id=page.pk).first()
    if narration is None:
        label = "Narration: none yet"
    elif narration.has_audio and narration.status == "ready":
        label = f"Narration: ready, {duration_text(narration.duration)}"
    else:
        label = f"Narration: {narration.get_status_display().lower()}"
    return [
        Button(
            label,
            reverse("audio_admin:narration", args=[page.pk]),
            icon_name="media",
            priority=80,
        )
    ]


@hooks.register("register_log_actions")
def register_narration_log_actions(actions):
    actions.register_action(
        "audio.narration_regenerate", "Regenerate narration", "Narration regeneration requested"
    )
    actions.register_action("audio.narration_ready", "Narration ready", "Narration ready")
    actions.register_action("audio.narration_failed", "Narration failed", "Narration failed")


@hooks.register("issue_publication_steps")
def issue_audio_steps(issue):
    from .publishing import issue_audio_steps

    return issue_audio_steps(issue)
