"""Open Graph and JSON-LD descriptions of an article: headline, dek, byline,
dates and image, never the body."""

import json

from django.utils.safestring import mark_safe


def image_url(request, image, spec="fill-1200x675"):
    if not image:
        return ""
    return request.build_absolute_uri(image.get_rendition(spec).url)


def image_object(request, image):
    """schema.org ImageObject for a picture, with the credit and copyright
    notice printed beside it: search engines show them with the image."""
    url = image_url(request, image)
    data = {"@type": "ImageObject", "url": url, "contentUrl": url}
    if image.credit:
        data["creditText"] = image.credit
    if image.copyright_notice:
        data["copyrightNotice"] = image.copyright_notice
    return data


# The element around the gated part of an article page. A reader with access
# gets the gated blocks inside it; a reader without gets the paywall box in
# its place, so the selector always names a real element.
PAYWALLED_SELECTOR = ".paywalled"


def article_json_ld(request, article, magazine, gated=False):
    """schema.org NewsArticle for an article. Never the body: `gated` marks
    an article only some readers get in full, as search engines expect."""
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.dek,
        "url": article.get_full_url(request),
        "datePublished": article.date.isoformat(),
        "dateModified": (
            article.corrected_at or article.last_published_at or article.date
        ).isoformat(),
        "author": [
            {
                "@type": "Person",
                "name": author.name,
                "url": request.build_absolute_uri(author.get_absolute_url()),
            }
            for author in article.authors
        ],
        "publisher": {"@type": "Organization", "name": magazine.publisher or magazine.name},
        "articleSection": article.section.title,
        "mainEntityOfPage": article.get_full_url(request),
    }
    if article.lead_image:
        data["image"] = [image_object(request, article.lead_image)]
    if gated:
        data["isAccessibleForFree"] = False
        data["hasPart"] = {
            "@type": "WebPageElement",
            "isAccessibleForFree": False,
            "cssSelector": PAYWALLED_SELECTOR,
        }
    return data


def as_script(data):
    """JSON for a <script type="application/ld+json">, safe against </script>."""
    text = json.dumps(data, ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return mark_safe(text)
