"""The read API and oEmbed. Thin: the access rule is `access.open_article`,
the teaser is `access.teaser.split_body`."""

from urllib.parse import urlsplit

from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_GET
from wagtail.models import Page, Site

from masthead.access.rules import open_article
from masthead.access.teaser import split_body
from masthead.core.models import MagazineSettings
from masthead.newsroom.models import ArticlePage, SectionPage, rich_text_paragraphs

from .forms import ArticleListForm, OEmbedForm

PAGE_SIZE = 20
OEMBED_WIDTH = 600
OEMBED_HEIGHT = 400


def _json(data, status=200):
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _invalid(form):
    """A 400 that names each parameter that was refused, and why."""
    errors = {
        field: [str(message) for message in messages] for field, messages in form.errors.items()
    }
    return _json({"error": "Invalid parameters.", "errors": errors}, status=400)


def _articles():
    """Live articles without a Wagtail view restriction, newest first."""
    return (
        ArticlePage.objects.live()
        .public()
        .select_related("lead_image")
        .prefetch_related("bylines__author")
        .order_by("-date", "-first_published_at")
    )


def _attach_sections(articles):
    """Give each article its section without a query each."""
    sections = {section.path: section for section in SectionPage.objects.all()}
    for article in articles:
        section = sections.get(article.path[: -Page.steplen])
        if section is not None:
            article.__dict__["section"] = section
    return articles


def _image(request, image, spec):
    if image is None:
        return None
    rendition = image.get_rendition(spec)
    return {
        "url": request.build_absolute_uri(rendition.url),
        "width": rendition.width,
        "height": rendition.height,
        "alt": image.title,
    }


def article_summary(request, article):
    section = article.section
    return {
        "id": article.pk,
        "title": article.title,
        "dek": article.dek,
        "url": article.get_full_url(request),
        "date": article.date.isoformat(),
        "section": {"title": section.title, "slug": section.slug},
        "authors": [byline.author.name for byline in article.bylines.all()],
        "access_level": article.effective_access_level,
        "image": _image(request, article.lead_image, "fill-800x450"),
        "api_url": request.build_absolute_uri(reverse("api:article", args=[article.pk])),
    }


def _blocks(blocks, gated_article=None):
    context = {"gated_article": gated_article} if gated_article is not None else None
    return [
        {"type": block.block_type, "html": str(block.render_as_block(context))} for block in blocks
    ]


@require_GET
def article_list(request):
    """Published articles, 20 a page: headline, dek and metadata, no body."""
    form = ArticleListForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    articles = _articles()
    section = form.cleaned_data["section"]
    if section:
        parent = get_object_or_404(SectionPage.objects.live(), slug=section)
        articles = articles.child_of(parent)
    page = Paginator(articles, PAGE_SIZE).get_page(form.cleaned_data["page"])
    items = _attach_sections(list(page.object_list))

    def link(number):
        query = request.GET.copy()
        query["page"] = number
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")

    return _json(
        {
            "count": page.paginator.count,
            "page": page.number,
            "pages": page.paginator.num_pages,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": [article_summary(request, article) for article in items],
        }
    )


@require_GET
def article_detail(request, article_id):
    """One article with the body this reader may have: all of it with
    access, the teaser blocks without (and `complete: false`)."""
    article = get_object_or_404(_articles(), pk=article_id)
    access = open_article(request.user, article)
    teaser, gated = split_body(article)
    data = article_summary(request, article)
    data["access"] = {"granted": access.granted, "reason": access.reason}
    data["body"] = _blocks(teaser) + (_blocks(gated, gated_article=article) if access else [])
    data["complete"] = bool(access) or not gated
    if not access:
        data["subscribe_url"] = request.build_absolute_uri(reverse("billing:subscribe"))
    return _json(data)


# oEmbed ------------------------------------------------------------------------------


def _site_for(request, host):
    site = Site.objects.filter(hostname=host).select_related("root_page").first()
    if site is None and host == request.get_host().partition(":")[0]:
        site = Site.find_for_request(request)
    return site


def article_at(request, url):
    """The live, unrestricted article at an absolute URL of this site, or None."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    site = _site_for(request, parts.hostname)
    if site is None:
        return None
    components = [component for component in parts.path.split("/") if component]
    try:
        found = site.root_page.specific.route(request, components)
    except Http404:
        return None
    page = found.page.specific
    if not isinstance(page, ArticlePage) or not page.live or page.get_view_restrictions().exists():
        return None
    return page


def teaser_paragraphs(article):
    """The teaser as plain-text paragraphs (figures and captions left out)."""
    teaser, _gated = split_body(article)
    texts = []
    for block in teaser:
        if block.block_type == "paragraph":
            texts.extend(rich_text_paragraphs(block.value.source))
        elif block.block_type == "heading":
            texts.append(block.value)
        elif block.block_type in ("block_quote", "pull_quote"):
            texts.append(block.value["text"])
    return [text for text in texts if text]


def _bounded(value, default):
    return default if value is None else min(default, value)


@require_GET
def oembed(request):
    """oEmbed (https://oembed.com/) for article URLs: a "rich" embed whose
    HTML is the headline, dek and teaser. The same for every reader."""
    form = OEmbedForm(request.GET)
    if not form.is_valid():
        return _invalid(form)
    if (form.cleaned_data["format"] or "json") != "json":
        return HttpResponse("Only JSON is offered.", status=501, content_type="text/plain")
    article = article_at(request, form.cleaned_data["url"])
    if article is None:
        raise Http404("No article at that address.")
    magazine = MagazineSettings.for_request(request)
    full_url = article.get_full_url(request)
    authors = article.authors
    html = format_html(
        '<blockquote class="masthead-embed" cite="{}"><p><strong>{}</strong></p>{}{}'
        '<p><a href="{}">Read it in {}</a></p></blockquote>',
        full_url,
        article.title,
        format_html("<p><em>{}</em></p>", article.dek) if article.dek else "",
        format_html_join("", "<p>{}</p>", ((text,) for text in teaser_paragraphs(article))),
        full_url,
        magazine.name,
    )
    data = {
        "version": "1.0",
        "type": "rich",
        "title": article.title,
        "provider_name": magazine.name,
        "provider_url": request.build_absolute_uri("/"),
        "cache_age": 300,
        "html": str(html),
        "width": _bounded(form.cleaned_data["maxwidth"], OEMBED_WIDTH),
        "height": _bounded(form.cleaned_data["maxheight"], OEMBED_HEIGHT),
    }
    if authors:
        data["author_name"] = ", ".join(author.name for author in authors)
        data["author_url"] = request.build_absolute_uri(authors[0].get_absolute_url())
    thumbnail = _image(request, article.lead_image, "fill-600x338")
    if thumbnail:
        data.update(
            thumbnail_url=thumbnail["url"],
            thumbnail_width=thumbnail["width"],
            thumbnail_height=thumbnail["height"],
        )
    # The same for every reader: the reader middleware lets shared caches
    # keep it for anonymous requests.
    return _json(data)
