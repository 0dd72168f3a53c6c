import re
from html import unescape

from django import forms
from django.core.cache import cache
from django.db import models
from django.db.models import Count, Prefetch, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import strip_tags
from django.utils.text import slugify
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, InlinePanel, MultiFieldPanel
from wagtail.documents.models import AbstractDocument
from wagtail.documents.models import Document as WagtailDocument
from wagtail.fields import StreamField
from wagtail.images.models import (
    AbstractImage,
    AbstractRendition,
    WagtailImageField,
    get_rendition_upload_to,
    get_upload_to,
)
from wagtail.images.models import Image as WagtailImage
from wagtail.models import Orderable, Page, PageViewRestriction
from wagtail.search import index

from masthead.core import generation
from masthead.core.storage import (
    get_image_storage,
    get_private_storage,
    is_private_image_name,
    private_image_name,
)

from .blocks import ArticleBodyBlock
from .forms import ArticleForm


class CreditedImage(AbstractImage):
    """A picture with the caption and credit a magazine prints beside it.

    Its file, and every rendition of it, is public or private by its name
    (masthead.core.storage.ImageStorage): a picture seen only in the gated
    part of gated articles is kept private, and moved when that changes
    (masthead.access.pictures)."""

    file = WagtailImageField(
        verbose_name="file",
        upload_to=get_upload_to,
        storage=get_image_storage,
        width_field="width",
        height_field="height",
    )
    caption = models.CharField(max_length=500, blank=True)
    credit = models.CharField(
        max_length=200, blank=True, help_text='Who to credit, e.g. "AP Images".'
    )
    copyright_notice = models.CharField(
        max_length=200,
        blank=True,
        help_text='The rights holder\'s notice, where they ask for one, e.g. "© 2026 AP".',
    )

    admin_form_fields = WagtailImage.admin_form_fields + ("caption", "credit", "copyright_notice")

    @property
    def is_private(self):
        """Whether the file is kept in private storage (see access.pictures)."""
        return is_private_image_name(self.file.name)


class MagazineDocument(AbstractDocument):
    """A file editors attach to pages (a report, a dataset). Kept in private
    storage: readers get it only through Wagtail's document view, which asks
    the access rule about the pages that link to it (access/attachments.py)."""

    file = models.FileField(upload_to="documents", storage=get_private_storage, verbose_name="file")

    admin_form_fields = WagtailDocument.admin_form_fields


class ImageRendition(AbstractRendition):
    """A resized copy of a picture, kept where its picture is: a private
    picture's renditions are private too, whoever makes them (a page, the
    admin, an edition build)."""

    file = WagtailImageField(
        upload_to=get_rendition_upload_to,
        storage=get_image_storage,
        width_field="width",
        height_field="height",
    )
    image = models.ForeignKey(CreditedImage, on_delete=models.CASCADE, related_name="renditions")

    class Meta:
        unique_together = (("image", "filter_spec", "focal_point_key"),)

    def get_upload_to(self, filename):
        name = super().get_upload_to(filename)
        return private_image_name(name) if self.image.is_private else name


class AccessLevel(models.TextChoices):
    """Who may read an article in full. `access.decide` interprets these."""

    PUBLIC = "public", "Everyone"
    MEMBERS = "members", "Signed-in members"
    SUBSCRIBERS = "subscribers", "Subscribers"
    PLANS = "plans", "Subscribers to chosen plans"


# A section's default: the per-plan level needs plans, which only an article names.
SECTION_ACCESS_LEVELS = [choice for choice in AccessLevel.choices if choice[0] != AccessLevel.PLANS]


class Author(index.Indexed, models.Model):
    """A writer, kept once and credited on many articles."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True, blank=True)
    job_title = models.CharField(max_length=200, blank=True)
    bio = models.TextField(blank=True)
    photo = models.ForeignKey(
        CreditedImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("job_title"),
        FieldPanel("bio"),
        FieldPanel("photo"),
    ]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if not self.slug:
            self.slug = slugify(self.name)
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("newsroom:author", args=[self.slug])

    def published_articles(self):
        return (
            ArticlePage.objects.live()
            .filter(bylines__author=self)
            .order_by("-date", "-first_published_at")
        )


class HomePage(Page):
    """The front page: the current issue's cover and lead story, the rest of
    the issue, the latest per section (issues.front, which knows issues)."""

    tagline = models.CharField(max_length=255, blank=True)

    content_panels = Page.content_panels + [FieldPanel("tagline")]

    parent_page_types = ["wagtailcore.Page"]
    subpage_types = ["newsroom.SectionPage", "issues.IssueIndexPage"]
    max_count = 1


class SectionPage(Page):
    """A section front (politics, finance, ...). Articles live under it."""

    intro = models.TextField(blank=True)
    default_access_level = models.CharField(
        max_length=20,
        choices=SECTION_ACCESS_LEVELS,
        default=AccessLevel.PUBLIC,
        help_text="Used by articles in this section that do not choose a level.",
    )

    content_panels = Page.content_panels + [
        FieldPanel("intro"),
        FieldPanel("default_access_level"),
    ]
    search_fields = Page.search_fields + [index.SearchField("intro")]

    parent_page_types = ["newsroom.HomePage"]
    subpage_types = ["newsroom.ArticlePage"]

    def latest_articles(self):
        return (
            ArticlePage.objects.live()
            .child_of(self)
            .select_related("lead_image")
            .order_by("-date", "-first_published_at")
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["articles"] = self.latest_articles().prefetch_related("bylines__author")[:30]
        return context


class ArticleTag(TaggedItemBase):
    content_object = ParentalKey(
        "newsroom.ArticlePage", on_delete=models.CASCADE, related_name="tagged_items"
    )


class ArticlePage(Page):
    """One piece of journalism. The page title is its headline."""

    dek = models.TextField(max_length=400, blank=True, help_text="The line under the headline.")
    date = models.DateTimeField(default=timezone.now, help_text="The publication date readers see.")
    lead_image = models.ForeignKey(
        CreditedImage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lead_image_caption = models.CharField(
        max_length=500, blank=True, help_text="Leave blank to use the image's caption."
    )
    body = StreamField(ArticleBodyBlock(), blank=True)
    tags = ClusterTaggableManager(through=ArticleTag, blank=True)
    access_level = models.CharField(
        max_length=20,
        choices=AccessLevel.choices,
        blank=True,
        help_text="Leave blank to use the section's default.",
    )
    required_plans = ParentalManyToManyField(
        "billing.Plan",
        blank=True,
        related_name="restricted_articles",
        help_text=(
            'With "Subscribers to chosen plans": the plans whose subscribers may read it. '
            "None chosen means any plan."
        ),
    )
    correction = models.TextField(
        blank=True, help_text="A correction note, shown on the article with its date."
    )
    corrected_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Who may read it sits by the headline, where the editor starts.
    content_panels = Page.content_panels + [
        MultiFieldPanel(
            [
                FieldPanel("access_level"),
                FieldPanel("required_plans", widget=forms.CheckboxSelectMultiple),
            ],
            heading="Access",
            help_text=(
                "Who may read the whole article. Everyone else sees the teaser: the body up "
                "to the teaser break, or its first two paragraphs."
            ),
        ),
        FieldPanel("dek"),
        InlinePanel("bylines", label="Byline", min_num=1),
        MultiFieldPanel(
            [FieldPanel("lead_image"), FieldPanel("lead_image_caption")], heading="Lead image"
        ),
        FieldPanel("body"),
        FieldPanel("tags"),
        FieldPanel("correction"),
    ]
    promote_panels = Page.promote_panels + [FieldPanel("date")]
    search_fields = Page.search_fields + [
        index.SearchField("dek"),
        index.SearchField("body"),
        index.RelatedFields(
            "bylines", [index.RelatedFields("author", [index.SearchField("name")])]
        ),
        index.FilterField("date"),
    ]

    parent_page_types = ["newsroom.SectionPage"]
    subpage_types: list[str] = []
    base_form_class = ArticleForm

    class Meta:
        verbose_name = "article"

    def save(self, *args, **kwargs):
        previous = (
            ArticlePage.objects.filter(pk=self.pk).values_list("correction", flat=True).first()
            if self.pk
            else None
        )
        if self.correction and self.correction != (previous or ""):
            self.corrected_at = timezone.now()
        elif not self.correction:
            self.corrected_at = None
        super().save(*args, **kwargs)

    # What routing loads with the page itself (masthead.serving.routing): the
    # lead image is on every article page.
    serve_select_related = ("lead_image",)

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["related_articles"] = self.related_articles()
        return context

    @cached_property
    def section(self):
        # Routing hands the parent over (`_cached_parent_obj`), as Wagtail's
        # own routing does; a section is a SectionPage already.
        parent = self.get_parent()
        return parent if isinstance(parent, SectionPage) else parent.specific

    @property
    def effective_access_level(self):
        if self.access_level:
            return self.access_level
        # Cards of related articles read their section's level with the page
        # (`related_articles`) instead of a query each.
        known = getattr(self, "section_access_level", None)
        return known or self.section.default_access_level

    @cached_property
    def authors(self):
        return [byline.author for byline in read_bylines([self])[self.pk]]

    def get_view_restrictions(self):
        """Wagtail's answer, asked once per instance: Wagtail's check before
        serving and the article variants' check after it read the same rows."""
        restrictions = getattr(self, "_view_restrictions", None)
        if restrictions is None:
            restrictions = self._view_restrictions = super().get_view_restrictions()
        return restrictions

    def remember_view_restrictions(self, restriction_ids):
        """Take these restrictions (ids) as this page's, found by routing in
        the same publish generation: asking again would find the same."""
        self._view_restrictions = (
            PageViewRestriction.objects.filter(pk__in=restriction_ids)
            if restriction_ids
            else PageViewRestriction.objects.none()
        )

    @property
    def caption(self):
        if self.lead_image_caption:
            return self.lead_image_caption
        return self.lead_image.caption if self.lead_image else ""

    @cached_property
    def issue(self):
        """The live issue this article appeared in, if any."""
        entry = (
            self.issue_entries.filter(issue__live=True)
            .select_related("issue")
            .order_by("issue__cover_date")
            .first()
        )
        return entry.issue if entry else None

    @cached_property
    def tag_list(self):
        return list(self.tags.all())

    def related_articles(self, limit=3):
        """Articles sharing the most tags, then the latest of the section,
        read together with what their cards and this page show: the bylines
        of all of them in one query, their pictures' renditions in another.
        Only articles sharing a tag are counted, so a large archive costs no
        more; the section's latest are read once per publish generation."""
        tag_ids = [tag.pk for tag in self.tag_list]
        related = []
        if tag_ids:
            related = list(
                ArticlePage.objects.live()
                .exclude(pk=self.pk)
                .filter(tagged_items__tag_id__in=tag_ids)
                .annotate(shared_tags=Count("tagged_items"))
                .order_by("-shared_tags", "-date")
                .select_related("lead_image")[:limit]
            )
            levels = _section_levels()
            for page in related:
                page.section_access_level = levels.get(page.path[: -self.steplen])
        if len(related) < limit:
            chosen = {self.pk, *(page.pk for page in related)}
            level = self.section.default_access_level
            for page in _latest_in_section(self.section, limit * 2 + 1):
                if len(related) == limit:
                    break
                if page.pk not in chosen:
                    page.section_access_level = level
                    related.append(page)
        bylines = read_bylines([self, *related])
        self.__dict__["authors"] = [byline.author for byline in bylines[self.pk]]
        images = [page.lead_image for page in (self, *related) if page.lead_image_id]
        prefetch_related_objects(images, "renditions")
        return related

    def plain_paragraphs(self, blocks=None):
        """The body (or these of its blocks) as plain-text paragraphs, in
        reading order (no captions)."""
        paragraphs = []
        for block in self.body if blocks is None else blocks:
            if block.block_type == "paragraph":
                paragraphs.extend(rich_text_paragraphs(block.value.source))
            elif block.block_type == "heading":
                paragraphs.append(block.value)
            elif block.block_type in ("block_quote", "pull_quote"):
                paragraphs.append(block.value["text"])
        return [p for p in paragraphs if p]

    def word_count(self):
        return sum(len(p.split()) for p in self.plain_paragraphs())

    def get_sitemap_urls(self, request=None):
        urls = super().get_sitemap_urls(request)
        for url in urls:
            url["lastmod"] = self.last_published_at or self.date
        return urls


# What is read once per publish generation is kept no longer than this
# (a generation that lasts longer reads it again).
GENERATION_ENTRY_SECONDS = 3600


def _section_levels():
    """Each section's default access level by its tree path, read once per
    publish generation (a section's change is a publish)."""
    key = f"newsroom:section-levels:{generation.current()}"
    levels = cache.get(key)
    if levels is None:
        levels = dict(SectionPage.objects.values_list("path", "default_access_level"))
        cache.set(key, levels, GENERATION_ENTRY_SECONDS)
    return levels


def _latest_in_section(section, count):
    """The section's `count` latest live articles, with their lead images,
    read once per publish generation (a copy each time: the cache's)."""
    key = f"newsroom:latest:{generation.current()}:{section.pk}:{count}"
    latest = cache.get(key)
    if latest is None:
        latest = list(section.latest_articles()[:count])
        cache.set(key, latest, GENERATION_ENTRY_SECONDS)
    return latest


def read_bylines(articles):
    """Each article's bylines with their authors, in one query, by article
    id; cached on each article as its `bylines.all()`."""
    missing = [a for a in articles if "bylines" not in getattr(a, "_prefetched_objects_cache", {})]
    if missing:
        prefetch_related_objects(
            missing,
            Prefetch("bylines", queryset=ArticleByline.objects.select_related("author")),
        )
    return {article.pk: list(article.bylines.all()) for article in articles}


def rich_text_paragraphs(html):
    """Plain text of each paragraph or list item in a rich text fragment."""
    pieces = re.split(r"</(?:p|li|h[1-6]|blockquote)>", html)
    texts = (" ".join(unescape(strip_tags(piece)).split()) for piece in pieces)
    return [text for text in texts if text]


class ArticleByline(Orderable):
    """An author credited on an article, in the order the byline reads."""

    article = ParentalKey(ArticlePage, on_delete=models.CASCADE, related_name="bylines")
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="bylines")

    panels = [FieldPanel("author")]

    def __str__(self):
        return str(self.author)
