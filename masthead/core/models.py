from django.db import models
from wagtail.admin.panels import FieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting


@register_setting(icon="site")
class MagazineSettings(BaseSiteSetting):
    """What the magazine calls itself, in feeds, metadata and narration."""

    name = models.CharField(max_length=120, default="The Meridian Review")
    publisher = models.CharField(max_length=120, default="Meridian Press")
    description = models.TextField(
        blank=True,
        default="Independent reporting on politics, money, the world and ideas, 24 issues a year.",
    )
    language = models.CharField(max_length=10, default="en-us")
    twitter_handle = models.CharField(max_length=50, blank=True)
    logo = models.ForeignKey(
        "newsroom.CreditedImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("publisher"),
        FieldPanel("description"),
        FieldPanel("language"),
        FieldPanel("twitter_handle"),
        FieldPanel("logo"),
    ]

    class Meta:
        verbose_name = "magazine"

    def __str__(self):
        return self.name
