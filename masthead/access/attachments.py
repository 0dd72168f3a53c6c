"""Gated attachments: documents linked from pages, and pictures in the gated
part of an article. Both are served only through views that ask the rule.

Documents live in private storage (newsroom.MagazineDocument).
`serve_document` answers Wagtail's document URLs in place of Wagtail's view
(whose hooks cannot answer with a streamed file): a reader gets the file
when one of the live pages that link to it grants them its full text (any
page other than a gated article is public). A document no live page links
to is for editors only, so an attachment to an unpublished article stays
unpublished.

A picture in the gated part of an article is rendered with the URL of
`gated_image` (see `gated_rendition`) instead of the public rendition's: a
view that asks `decide` about the article, then hands out a copy of the
rendition kept in private storage. Readers without access never see that
URL (the gated part is not sent to them), and the URL is refused to them.

A picture seen only in gated parts keeps its original and its renditions in
private storage too (access/pictures.py); `image_file` serves those files,
at the URL their storage gives them, to whom `image_access` lets in: an
editor's thumbnails, a rendition another surface made.
"""

import hashlib
from dataclasses import dataclass
from io import BytesIO

from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_safe
from wagtail import hooks
from wagtail.documents import get_document_model
from wagtail.documents.models import AbstractDocument, document_served
from wagtail.images import get_image_model
from wagtail.images.models import AbstractImage, Filter
from wagtail.models import Page, ReferenceIndex

from masthead.core.storage import (
    image_storage,
    is_private_image_name,
    private_storage,
    save_atomically,
    serve_private_file,
)
from masthead.newsroom.models import ArticlePage

from . import rules
from .paywall import sign_in_url, subscribe_url
from .pictures import image_access
from .teaser import split_body

# The rendition sizes the gated view makes: the body's figures (figure.html).
GATED_IMAGE_SPECS = {"width-900"}
IMAGE_TYPES = {
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "gif": "image/gif",
    "avif": "image/avif",
}


def _denied(
    request: HttpRequest, access: rules.Access, article: ArticlePage | None
) -> HttpResponse:
    """The 403 page: it names the article the file belongs to (whose title
    is public), never the file. (The reader middleware marks it private.)"""
    context = {
        "access": access,
        "article": article,
        "sign_in_url": sign_in_url(article.url if article else "/"),
        "subscribe_url": subscribe_url(),
    }
    return render(request, "access/attachment_denied.html", context, status=403)


# Documents -------------------------------------------------------------------------


def pages_linking_to(document: AbstractDocument) -> list[Page]:
    """The live pages whose content links to `document`, as their own classes."""
    references = ReferenceIndex.get_references_to(document).filter(
        base_content_type=ReferenceIndex._get_base_content_type(Page)
    )
    page_ids = {int(object_id) for object_id in references.values_list("object_id", flat=True)}
    return list(Page.objects.live().filter(pk__in=page_ids).specific())


def document_access(
    user: rules.Person, document: AbstractDocument
) -> tuple[rules.Access, ArticlePage | None]:
    """(Access, article) for `user` and the file of `document`: the rule's
    answer for the most open page that links to it, and the article that
    refused it."""
    if user is not None and user.is_authenticated and user.is_staff:
        return rules.Access(True, "staff"), None
    pages = pages_linking_to(document)
    if not pages:
        return rules.Access(False, "not-published"), None
    refused: tuple[rules.Access, ArticlePage | None] | None = None
    for page in pages:
        if not isinstance(page, ArticlePage):
            return rules.Access(True, "public"), None
        access = rules.decide(user, page)
        if access:
            return access, page
        refused = refused or (access, page)
    assert refused is not None  # every page was an article that refused
    return refused


@require_safe
def serve_document(
    request: HttpRequest, document_id: int, document_filename: str
) -> HttpResponseBase:
    """A document's file, at Wagtail's address for it, through the rule."""
    document = get_object_or_404(get_document_model(), pk=document_id)
    if document.filename != document_filename:
        raise Http404("No such document.")
    # Wagtail's own checks first: a collection's view restrictions.
    for hook in hooks.get_hooks("before_serve_document"):
        result = hook(document, request)
        if isinstance(result, HttpResponseBase):
            return result
    access, article = document_access(request.user, document)
    if not access:
        if access.reason == "not-published":
            raise Http404("No such document.")
        return _denied(request, access, article)
    content_type = document.content_type or "application/octet-stream"
    response = serve_private_file(
        request,
        private_storage,
        document.file.name,
        content_type=content_type,
        filename=document.filename,
        as_attachment=document.content_disposition == "attachment",
        cache_control="private, max-age=3600",
    )
    document_served.send(sender=type(document), instance=document, request=request)
    return response


# Pictures in the gated part ----------------------------------------------------------


@dataclass(frozen=True)
class GatedRendition:
    """What a template needs of a rendition: its URL and size."""

    url: str
    width: int
    height: int


def gated_rendition(image: AbstractImage, article: ArticlePage, spec: str) -> GatedRendition:
    """A rendition of `image` in `article`'s gated part, addressed through
    the gated view; nothing is written to public storage."""
    width, height = Filter(spec).get_transform(image).size
    url = reverse("access:gated_image", args=[article.pk, image.pk, spec])
    return GatedRendition(url, width, height)


def _gated_images(article: ArticlePage) -> set[int]:
    _teaser, gated = split_body(article)
    return {
        block.value["image"].pk
        for block in gated
        if block.block_type == "figure" and block.value.get("image") is not None
    }


def _private_rendition(image: AbstractImage, spec: str) -> tuple[str, str]:
    """The name in private storage of `image` made to `spec`, made once."""
    digest = hashlib.sha256(f"{image.file.name}:{image.file_hash}:{spec}".encode()).hexdigest()
    prefix = f"gated-images/{image.pk}/{spec}-{digest[:16]}"
    for extension in IMAGE_TYPES:
        if private_storage.exists(f"{prefix}.{extension}"):
            return f"{prefix}.{extension}", IMAGE_TYPES[extension]
    output = Filter(spec).run(image, BytesIO())
    extension = output.format_name if output.format_name in IMAGE_TYPES else "jpeg"
    name = f"{prefix}.{extension}"
    save_atomically(private_storage, name, output.f.getvalue())
    return name, IMAGE_TYPES[extension]


@require_safe
def gated_image(
    request: HttpRequest, article_id: int, image_id: int, spec: str
) -> HttpResponseBase:
    if spec not in GATED_IMAGE_SPECS:
        raise Http404("No such size.")
    article = get_object_or_404(ArticlePage.objects.live(), pk=article_id)
    if image_id not in _gated_images(article):
        raise Http404("No such picture in this article.")
    access = rules.decide(request.user, article)
    if not access:
        return _denied(request, access, article)
    image = get_object_or_404(get_image_model(), pk=image_id)
    name, content_type = _private_rendition(image, spec)
    return serve_private_file(
        request,
        private_storage,
        name,
        content_type=content_type,
        cache_control="private, max-age=86400",
    )


@require_safe
def image_file(request: HttpRequest, name: str) -> HttpResponseBase:
    """A picture's file kept in private storage (an original or a rendition),
    to a reader `image_access` lets in."""
    if not is_private_image_name(name):
        raise Http404("No such picture.")
    image_model = get_image_model()
    image = image_model.objects.filter(file=name).first()
    if image is None:
        rendition = (
            image_model.get_rendition_model()
            .objects.filter(file=name)
            .select_related("image")
            .first()
        )
        if rendition is None:
            raise Http404("No such picture.")
        image = rendition.image
    access, article = image_access(request.user, image)
    if not access:
        if access.reason == "not-published":
            raise Http404("No such picture.")
        return _denied(request, access, article)
    extension = name.rsplit(".", 1)[-1].lower()
    content_type = IMAGE_TYPES.get("jpeg" if extension == "jpg" else extension)
    return serve_private_file(
        request,
        image_storage.backend(name),
        name,
        content_type=content_type or "application/octet-stream",
        cache_control="private, max-age=3600",
    )
