from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel


class Placement(models.TextChoices):
    ARTICLE_INLINE = "article_inline", "Article, within the text"
    ARTICLE_SIDEBAR = "article_sidebar", "Article, beside the text"
    SECTION_TOP = "section_top", "Section front, at the top"


class AdSlotQuerySet(models.QuerySet):
    def showing(self, placement, now=None):
        """The ads that run in `placement` at `now`."""
        now = now or timezone.now()
        return self.filter(
            Q(starts_at__isnull=True) | Q(starts_at__lte=now),
            Q(ends_at__isnull=True) | Q(ends_at__gt=now),
            placement=placement,
            enabled=True,
            weight__gt=0,
        )

    def next_change(self, placement, now=None):
        """When the ads of `placement` next start or end (None: not scheduled)."""
        now = now or timezone.now()
        slots = self.filter(placement=placement, enabled=True)
        moments = [
            moment
            for pair in slots.values_list("starts_at", "ends_at")
            for moment in pair
            if moment is not None and moment > now
        ]
        return min(moments, default=None)


class AdSlot(models.Model):
    """One ad the publisher runs in a placement: a house ad (an image with a
    link) or an HTML snippet they trust. Several ads in one placement share
    it by weight."""

    class Kind(models.TextChoices):
        HOUSE = "house", "House ad: an image with a link"
        HTML = "html", "HTML snippet"

    name = models.CharField(max_length=100, help_text="For the publisher; readers never see it.")
    placement = models.CharField(max_length=20, choices=Placement.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HOUSE)
    image = models.ForeignKey(
        "newsroom.CreditedImage",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    link_url = models.URLField("link", blank=True)
    alt_text = models.CharField(
        "image description",
        max_length=255,
        blank=True,
        help_text="What the image says, for screen readers.",
    )
    html = models.TextField(
        "HTML snippet",
        blank=True,
        help_text="Sent to readers exactly as written: paste only code from a source you trust.",
    )
    starts_at = models.DateTimeField("runs from", null=True, blank=True)
    ends_at = models.DateTimeField("runs until", null=True, blank=True)
    weight = models.PositiveSmallIntegerField(
        default=1, help_text="How often it shows beside other ads in the same placement (0: never)."
    )
    enabled = models.BooleanField(default=True)

    objects = AdSlotQuerySet.as_manager()

    panels = [
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("placement"), FieldPanel("kind")]),
        MultiFieldPanel(
            [FieldPanel("image"), FieldPanel("link_url"), FieldPanel("alt_text")],
            heading="House ad",
        ),
        FieldPanel("html"),
        FieldRowPanel([FieldPanel("starts_at"), FieldPanel("ends_at")]),
        FieldRowPanel([FieldPanel("weight"), FieldPanel("enabled")]),
    ]

    class Meta:
        ordering = ["placement", "-weight", "name"]
        verbose_name = "ad"

    def __str__(self):
        return f"{self.name} ({self.get_placement_display()})"

    def clean(self):
        errors = {}
        if self.kind == self.Kind.HOUSE:
            for field in ("image", "link_url", "alt_text"):
                if not getattr(self, field):
                    errors[field] = "A house ad needs an image, a link and a description."
        elif not self.html.strip():
            errors["html"] = "An HTML ad needs its snippet."
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            errors["ends_at"] = "An ad must end after it starts."
        if errors:
            raise ValidationError(errors)
