from itertools import groupby

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from modelcluster.fields import ParentalKey
from wagtail.admin.panels import FieldPanel, FieldRowPanel, InlinePanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseGenericSetting, register_setting
from wagtail.models import Orderable, Page
from wagtail.search import index

from masthead.newsroom.models import ArticlePage

from .schedule import Schedule, parse_days


@register_setting(icon="date")
class IssueSchedule(BaseGenericSetting):
    """How often the magazine comes out: 24 issues a year on the 1st and 15th
    unless the publisher says otherwise."""

    issues_per_year = models.PositiveSmallIntegerField(default=24)
    publication_days = models.CharField(
        max_length=50,
        default="1, 15",
        help_text="The days of the month an issue comes out, separated by commas.",
    )

    panels = [FieldPanel("issues_per_year"), FieldPanel("publication_days")]

    class Meta:
        verbose_name = "issue schedule"

    def __str__(self):
        return f"{self.issues_per_year} issues a year"

    def clean(self):
        try:
            Schedule(self.issues_per_year, parse_days(self.publication_days))
        except ValueError as error:
            raise ValidationError({"publication_days": str(error)})


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
    subpage_types: list[str] = []

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

    def numbered_contents(self):
        """[(section, number of its first article, [articles])]: the contents
        numbered once through the issue, not again in every section."""
        numbered = []
        start = 1
        for section, articles in self.contents_by_section():
            numbered.append((section, start, articles))
            start += len(articles)
        return numbered

    def serve(self, request, *args, **kwargs):
        # The page shows edition downloads to those with access: a signed-in
        # reader's copy is theirs alone.
        response = super().serve(request, *args, **kwargs)
        patch_vary_headers(response, ["Cookie"])
        if request.user.is_authenticated:
            patch_cache_control(response, private=True)
        return response

    def draft_contents(self):
        """The articles of the latest revision's table of contents, in order:
        what the editor sees, published or not."""
        draft = self.get_latest_revision_as_object() if self.latest_revision_id else self
        ids = [
            entry.article_id for entry in sorted(draft.contents.all(), key=lambda e: e.sort_order)
        ]
        by_id = ArticlePage.objects.in_bulk(ids)
        return [by_id[pk] for pk in ids if pk in by_id]

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


class IssuePublication(models.Model):
    """One "Publish issue" for an issue, with the state of each of its steps.

    `issues.actions.publish_issue` creates it; the steps run in order in the
    task worker and each is done once: asking again retries only the steps
    that failed or never ran.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "In progress"
        DONE = "done", "Published"
        FAILED = "failed", "Failed"

    issue = models.OneToOneField(IssuePage, on_delete=models.CASCADE, related_name="publication")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveSmallIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "issue publication"

    def __str__(self):
        return f"Publication of {self.issue}"

    def ordered_steps(self):
        return sorted(self.steps.all(), key=lambda step: step.position)

    @property
    def is_finished(self):
        return self.status != self.Status.RUNNING


class IssuePublicationStep(models.Model):
    """One step of publishing an issue, with its outcome."""

    class Name(models.TextChoices):
        ARTICLES = "articles", "Publish the ready articles and the issue"
        EDITIONS = "editions", "Build the EPUB and PDF editions"
        PRINT_RUN = "print_run", "Close the print run"
        NOTIFY = "notify", "Email subscribers"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    ORDER = [Name.ARTICLES, Name.EDITIONS, Name.PRINT_RUN, Name.NOTIFY]

    publication = models.ForeignKey(
        IssuePublication, on_delete=models.CASCADE, related_name="steps"
    )
    name = models.CharField(max_length=20, choices=Name.choices)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="What the step did.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["publication", "name"], name="unique_publication_step")
        ]

    def __str__(self):
        return f"{self.get_name_display()}: {self.get_status_display()}"


class IssueAnnouncement(models.Model):
    """A member was emailed about an issue: at most once per issue."""

    issue = models.ForeignKey(IssuePage, on_delete=models.CASCADE, related_name="announcements")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="issue_announcements"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "member"], name="unique_issue_announcement")
        ]

    def __str__(self):
        return f"{self.issue} to {self.member}"
