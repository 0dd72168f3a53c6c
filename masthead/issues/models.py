from itertools import groupby

from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.models import Orderable, Page
from wagtail.search import index

from masthead.newsroom.models import ArticlePage


class IssueIndexPage(Page):
    """The archive: every issue, by year."""

    intro = models.TextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]

    parent_page_types = ["newsroom.HomePage"]
    subpage_types = ["issues.IssuePage"]
    max_count = 1

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        issues = IssuePage.objects.live().child_of(self).select_related("cover_image")
        issues = issues.order_by("-cover_date")
        context["issues_by_year"] = [
            (year, list(group)) for year, group in groupby(issues, key=lambda i: i.cover_date.year)
        ]
        return context


class IssuePage(Page):
    """One issue of the magazine: a cover and an ordered table of contents."""

    volume = models.PositiveSmallIntegerField()
    number = models.PositiveSmallIntegerField()
    cover_date = models.DateField()
    cover_image = models.ForeignKey(
        "newsroom.CreditedImage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    cover_lines = models.TextField(blank=True, help_text="One cover line per line.")

    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("volume"), FieldPanel("number")]),
                FieldPanel("cover_date"),
                FieldPanel("cover_image"),
                FieldPanel("cover_lines"),
            ],
            heading="Cover",
        ),
        InlinePanel("contents", label="Article", heading="Contents, in order"),
    ]
    search_fields = Page.search_fields + [index.SearchField("cover_lines")]

    parent_page_types = ["issues.IssueIndexPage"]
    subpage_types = []

    class Meta:
        verbose_name = "issue"
        constraints = [
            models.UniqueConstraint(fields=["volume", "number"], name="unique_issue_number")
        ]

    @property
    def label(self):
        return f"Vol. {self.volume}, No. {self.number}"

    @property
    def cover_line_list(self):
        return [line.strip() for line in self.cover_lines.splitlines() if line.strip()]

    def live_articles(self):
        """The issue's published articles in their table-of-contents order."""
        entries = self.contents.filter(article__live=True).order_by("sort_order")
        ids = list(entries.values_list("article_id", flat=True))
        by_id = ArticlePage.objects.live().select_related("lead_image").in_bulk(ids)
        return [by_id[pk] for pk in ids if pk in by_id]

    def contents_by_section(self):
        """[(section, [articles])] keeping each section at its first position."""
        sections = {}
        for article in self.live_articles():
            sections.setdefault(article.section.pk, (article.section, []))[1].append(article)
        return list(sections.values())

    @classmethod
    def current(cls):
        """The latest live issue whose cover date has come."""
        return (
            cls.objects.live()
            .filter(cover_date__lte=timezone.localdate())
            .select_related("cover_image")
            .order_by("-cover_date")
            .first()
        )


class IssueArticle(Orderable):
    """An article's place in an issue's table of contents."""

    issue = ParentalKey(IssuePage, on_delete=models.CASCADE, related_name="contents")
    article = models.ForeignKey(
        "newsroom.ArticlePage", on_delete=models.CASCADE, related_name="issue_entries"
    )

    panels = [FieldPanel("article")]

    class Meta(Orderable.Meta):
        constraints = [
            models.UniqueConstraint(fields=["issue", "article"], name="unique_issue_article")
        ]
