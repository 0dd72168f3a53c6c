from django.apps import AppConfig


class AudioConfig(AppConfig):
    name = "masthead.audio"
    label = "audio"
    verbose_name = "Audio"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete
        from wagtail.signals import page_published

        from masthead.issues.models import IssuePage
        from masthead.newsroom.models import ArticlePage

        from .actions import delete_narration_files, on_issue_published, on_page_published
        from .models import IssueEpisode, Narration

        page_published.connect(
            on_page_published, sender=ArticlePage, dispatch_uid="audio_narrate_on_publish"
        )
        page_published.connect(
            on_issue_published, sender=IssuePage, dispatch_uid="audio_episode_on_publish"
        )
        post_delete.connect(delete_narration_files, sender=Narration, dispatch_uid="audio_nd")
        post_delete.connect(delete_narration_files, sender=IssueEpisode, dispatch_uid="audio_ed")
