from datetime import timedelta

from django.contrib.sitemaps import Sitemap
from django.utils import timezone
from wagtail.contrib.sitemaps import Sitemap as PageSitemap

from .models import ArticlePage, Author

# Google News indexes articles published in the last two days.
NEWS_WINDOW = timedelta(days=2)


class AuthorSitemap(Sitemap):
    def items(self):
        return Author.objects.filter(bylines__article__live=True).distinct()


def sitemaps():
    return {"pages": PageSitemap, "authors": AuthorSitemap}


def news_articles():
    since = timezone.now() - NEWS_WINDOW
    return (
        ArticlePage.objects.live()
        .public()
        .filter(date__gte=since, date__lte=timezone.now())
        .order_by("-date")[:1000]
    )
