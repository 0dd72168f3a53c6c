from email.utils import formataddr, parseaddr

from django import forms
from django.conf import settings
from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting

from .brand import DEFAULT_ACCENT, FontPairing, validate_accent


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
    email_sender_name = models.CharField(
        "email sender's name",
        max_length=120,
        blank=True,
        help_text="The name readers see on account and billing emails; blank for the magazine's name.",
    )
    email_sender_address = models.EmailField(
        "email sender's address",
        blank=True,
        help_text="The address account and billing emails come from; blank for the server's default.",
    )
    accent_colour = models.CharField(
        max_length=7,
        default=DEFAULT_ACCENT,
        validators=[validate_accent],
        help_text="Links, buttons and the paywall's rule, as #rrggbb. Dark mode lightens it.",
    )
    font_pairing = models.CharField(
        max_length=20,
        choices=FontPairing.choices,
        default=FontPairing.SERIF_AND_SANS,
        help_text="The typefaces of headlines and text, and of labels and menus.",
    )
    footer_text = models.TextField(
        blank=True,
        help_text="Shown at the foot of every page; blank for the publisher's name and "
        "the description.",
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("publisher"),
        FieldPanel("description"),
        FieldPanel("language"),
        FieldPanel("twitter_handle"),
        FieldPanel("email_sender_name"),
        FieldPanel("email_sender_address"),
        MultiFieldPanel(
            [
                FieldPanel("logo"),
                # The browser's colour picker; the server still checks the value.
                FieldPanel("accent_colour", widget=forms.TextInput(attrs={"type": "color"})),
                FieldPanel("font_pairing"),
                FieldPanel("footer_text"),
            ],
            heading="Brand",
        ),
    ]

    class Meta:
        verbose_name = "magazine"

    def __str__(self):
        return self.name

    def email_sender(self) -> str:
        """ "Name <address>" for transactional mail: the admin's choice, else
        the magazine's name and DEFAULT_FROM_EMAIL's address."""
        address = self.email_sender_address or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
        return formataddr((self.email_sender_name or self.name, address))
