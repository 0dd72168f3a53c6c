"""The publisher's paywall settings and the metered reads they count.

The grace period after a failed payment is billing's (BillingSettings), not
repeated here: `current_entitlement` already applies it.
"""

from django.conf import settings
from django.db import models
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.search import index

DEFAULT_BENEFITS = """Every article, and the whole archive
Audio narration of every article
The digital edition of each issue (EPUB and PDF)
Ad-free reading
60-day money-back guarantee; cancel anytime"""


@register_setting(icon="lock")
class PaywallSettings(BaseGenericSetting):
    """How the paywall treats free members, and what it tells readers.

    One for the whole installation: `access.decide` answers without a site.
    """

    metered = models.BooleanField(
        "metered access",
        default=False,
        help_text=(
            "Let signed-in free members read a few subscriber-only articles. "
            "Counted on the server, per member."
        ),
    )
    free_articles = models.PositiveSmallIntegerField(
        "free articles per 30 days",
        default=3,
        help_text="How many subscriber-only articles a free member may read in 30 days.",
    )
    heading = models.CharField(
        "paywall heading", max_length=200, default="Subscribe to keep reading"
    )
    benefits = models.TextField(
        "what subscribers get",
        default=DEFAULT_BENEFITS,
        help_text="One per line, shown on the paywall.",
    )

    panels = [
        MultiFieldPanel(
            [FieldPanel("metered"), FieldPanel("free_articles")], heading="Metered access"
        ),
        MultiFieldPanel([FieldPanel("heading"), FieldPanel("benefits")], heading="The paywall"),
    ]

    class Meta:
        verbose_name = "paywall"

    def __str__(self) -> str:
        return "Paywall settings"

    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]


class MeteredRead(models.Model):
    """A subscriber-only article a free member opened on the meter.

    One row per member and article: reading it again inside the window costs
    nothing; after the window, reading it again counts anew (`read_at` moves).
    """

    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="metered_reads"
    )
    article = models.ForeignKey(
        "newsroom.ArticlePage", on_delete=models.CASCADE, related_name="metered_reads"
    )
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "article"], name="access_one_read_per_article"
            )
        ]
        indexes = [models.Index(fields=["member", "read_at"])]

    def __str__(self) -> str:
        return f"{self.member} read {self.article_id} on {self.read_at:%Y-%m-%d}"


class Teaser(index.Indexed, models.Model):
    """What every reader may read of an article: headline, dek, byline and
    the teaser paragraphs, indexed on their own. Search matches a reader
    without access against these words only, never the gated rest
    (search.py). Kept in step with the article's live revision
    (`refresh_teaser`)."""

    article = models.OneToOneField(
        "newsroom.ArticlePage", primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    # "title" is ranked as the article's own title is in its index, so scores
    # from the two indexes compare.
    title = models.CharField(max_length=255)
    text = models.TextField(blank=True)

    search_fields = [
        index.SearchField("title", boost=2),
        index.SearchField("text"),
        index.FilterField("article"),
    ]

    def __str__(self) -> str:
        return self.title
