"""The PDF edition, laid out by WeasyPrint from templates/editions/pdf/.

Images come from the storage through `EditionImageFetcher` (the scheme
`masthead-image:`); nothing is fetched from the network while rendering.
"""

import logging

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

# WeasyPrint reports each layout step at INFO; a worker's log needs only
# its warnings (a missing image, unsupported CSS).
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

from weasyprint import HTML  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

PAGE_SIZES = {
    # name: (CSS size, width, height)
    "A4": ("A4", "210mm", "297mm"),
    "letter": ("letter", "215.9mm", "279.4mm"),
}
SCHEME = "masthead-image:"


class EditionImageFetcher(URLFetcher):
    """Serves the issue's pictures to WeasyPrint and refuses everything else."""

    def __init__(self, pictures):
        super().__init__(allowed_protocols=("data",))
        self.pictures = pictures

    def fetch(self, url, headers=None):
        if url.startswith(SCHEME):
            picture = self.pictures.get(url.removeprefix(SCHEME))
            if picture is None or picture.data is None:
                raise ValueError(f"No such edition image: {url}")
            return URLFetcherResponse(url, picture.data, {"Content-Type": "image/jpeg"})
        return super().fetch(url, headers)


def css_string(value):
    """A Python string as a quoted CSS string (for the running heads)."""
    escaped = "".join(
        ch if ch.isprintable() and ch not in '"\\<>' else f"\\{ord(ch):x} " for ch in value
    )
    return mark_safe(f'"{escaped}"')


def render_pdf(content, page_size="A4"):
    """The issue as PDF bytes on `page_size` ("A4" or "letter") pages."""
    size, width, height = PAGE_SIZES[page_size]
    cover = content.cover if content.cover and content.cover.data else None
    markup = render_to_string(
        "editions/pdf/issue.html",
        {
            "content": content,
            "issue": content.issue,
            "cover": cover,
            "lang": content.language,
            "page_size": size,
            "page_width": width,
            "page_height": height,
            "running_magazine": css_string(content.magazine),
            "running_issue": css_string(
                f"{content.issue.label} · {content.issue.cover_date:%B %-d, %Y}"
            ),
        },
    )
    document = HTML(
        string=markup,
        base_url=content.site_url + "/",
        url_fetcher=EditionImageFetcher(content.pictures),
    )
    return document.write_pdf()
