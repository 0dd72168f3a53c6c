"""RSS and Atom feeds for the site, each section and each author.

Items carry the headline and dek only: never the body, so a feed cannot leak
subscriber-only text.
"""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed
from wagtail.models import Site

from masthead.core.models import MagazineSettings

from .models import ArticlePage, Author, SectionPage

FEED_LENGTH = 30


class ArticleFeed(Feed):
    def get_object(self, request, *args, **kwargs):
        self.request = request
        self.magazine = MagazineSettings.for_request(request)
        return None

    def title(self, obj):
        return self.magazine.name

    def link(self, obj):
        return "/"

    def description(self, obj):
        return self.magazine.description

    def articles(self, obj):
        return ArticlePage.objects.live()

    def items(self, obj):
        return (
            self.articles(obj)
            .order_by("-date", "-first_published_at")
            .prefetch_related("bylines__author")[:FEED_LENGTH]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.dek

    def item_link(self, item):
        return item.get_url(self.request)

    def item_guid(self, item):
        return item.full_url

    def item_pubdate(self, item):
        return item.date

    def item_updateddate(self, item):
        return item.last_published_at or item.date

    def item_author_name(self, item):
        return ", ".join(author.name for author in item.authors)

    def item_categories(self, item):
        return [item.section.title]


class ArticleAtomFeed(ArticleFeed):
    feed_type = Atom1Feed
    subtitle = ArticleFeed.description


class SectionFeed(ArticleFeed):
    def get_object(self, request, slug):
        super().get_object(request)
        site = Site.find_for_request(request)
        sections = SectionPage.objects.live()
        if site:
            sections = sections.descendant_of(site.root_page, inclusive=True)
        return get_object_or_404(sections, slug=slug)

    def title(self, obj):
        return f"{obj.title} · {self.magazine.name}"

    def link(self, obj):
        return obj.url

    def articles(self, obj):
        return ArticlePage.objects.live().child_of(obj)


class SectionAtomFeed(SectionFeed):
    feed_type = Atom1Feed
    subtitle = SectionFeed.description


class AuthorFeed(ArticleFeed):
    def get_object(self, request, slug):
        super().get_object(request)
        return get_object_or_404(Author, slug=slug)

    def title(self, obj):
        return f"{obj.name} · {self.magazine.name}"

    def link(self, obj):
        return obj.get_absolute_url()

    def articles(self, obj):
        return obj.published_articles()


class AuthorAtomFeed(AuthorFeed):
    feed_type = Atom1Feed
    subtitle = AuthorFeed.description
