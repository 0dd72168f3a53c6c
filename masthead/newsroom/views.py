from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET
from wagtail.contrib.sitemaps.views import sitemap as wagtail_sitemap

from .models import Author
from .sitemaps import news_articles, sitemaps


@require_GET
def author_index(request):
    authors = Author.objects.filter(bylines__article__live=True).distinct()
    return render(request, "newsroom/author_index.html", {"authors": authors})


@require_GET
def author_detail(request, slug):
    author = get_object_or_404(Author, slug=slug)
    articles = author.published_articles().select_related("lead_image")
    page = Paginator(articles, 20).get_page(request.GET.get("page"))
    return render(request, "newsroom/author_detail.html", {"author": author, "articles": page})


def sitemap(request):
    return wagtail_sitemap(request, sitemaps=sitemaps())


@require_GET
def news_sitemap(request):
    return render(
        request,
        "newsroom/news_sitemap.xml",
        {"articles": news_articles()},
        content_type="application/xml",
    )


@require_GET
def robots_txt(request):
    lines = [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /account/",
        "Disallow: /search/",
        f"Sitemap: {request.build_absolute_uri(reverse('sitemap'))}",
        f"Sitemap: {request.build_absolute_uri(reverse('news_sitemap'))}",
    ]
    return HttpResponse("\n".join(lines) + "\n", content_type="text/plain")
