"""Where a picture's files are kept: public, or private when the picture is
seen only by readers the rule lets into a gated part.

A picture is gated when every use of it is a figure in the gated part of a
gated article. Any other use makes it public: a lead image (shown on cards
and in feeds), a figure in a teaser or in a public article, an author's
photo, an issue's cover, an ad, a block of another page. A picture used
nowhere stays where it is (an upload starts public).

`place_pictures` moves the files of the pictures whose place no longer
matches: the original to the other storage under the other name, and
every rendition deleted (the next one is made in the right place). It runs
when a page is published, unpublished or deleted, so a change of an
article's level or of its teaser break moves its pictures.

`image_access` is what the view of a private file asks: staff and editors
always; anyone once the picture has a public use (before it is moved);
otherwise the rule's answer for the live articles that show it in their
gated part, and no one when none does.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from wagtail.images import get_image_model
from wagtail.images.models import AbstractImage
from wagtail.models import Page, ReferenceIndex

from masthead.core.signals import pages_changed
from masthead.core.storage import (
    image_storage,
    private_image_name,
    public_image_name,
    save_atomically,
)
from masthead.newsroom.models import AccessLevel, ArticlePage, SectionPage

from . import rules
from .teaser import split_body


@dataclass(frozen=True)
class PictureUses:
    """Where a picture appears: whether anywhere public, and the articles
    that show it in their gated part."""

    public: bool
    gated_articles: tuple[ArticlePage, ...]

    @property
    def gated_only(self) -> bool:
        return not self.public and bool(self.gated_articles)


def gated_figure_ids(article: ArticlePage) -> set[str]:
    """The ids of the figure blocks in `article`'s gated part; none when the
    article is public, as its whole body is."""
    if article.effective_access_level == AccessLevel.PUBLIC:
        return set()
    _teaser, gated = split_body(article)
    return {block.id for block in gated if block.block_type == "figure"}


def _uses_by_foreign_key(image: AbstractImage) -> bool:
    """Whether a row of another model points at `image` by a foreign key (a
    lead image, a photo, a cover, an ad); a page's only while it is live."""
    rendition_model = image.get_rendition_model()
    for relation in type(image)._meta.get_fields(include_hidden=True):
        if not (relation.auto_created and relation.one_to_many) or relation.concrete:
            continue
        model = relation.related_model
        if model is rendition_model:
            continue
        rows = model._default_manager.filter(**{relation.field.name: image})
        if issubclass(model, Page):
            rows = rows.filter(live=True)
        if rows.exists():
            return True
    return False


def picture_uses(image: AbstractImage) -> PictureUses:
    """Where `image` appears in live pages and other content."""
    public = _uses_by_foreign_key(image)
    article_type = ContentType.objects.get_for_model(ArticlePage)
    page_type = ContentType.objects.get_for_model(Page)
    body_blocks: dict[int, set[str]] = {}
    other_pages: set[int] = set()
    for reference in ReferenceIndex.get_references_to(image).all():
        if reference.content_type_id == article_type.pk and reference.content_path.startswith(
            "body."
        ):
            block_id = reference.content_path.split(".")[1]
            body_blocks.setdefault(int(reference.object_id), set()).add(block_id)
        elif reference.base_content_type_id == page_type.pk:
            other_pages.add(int(reference.object_id))
        else:
            public = True
    if other_pages and Page.objects.live().filter(pk__in=other_pages).exists():
        public = True
    gated_articles = []
    for article in ArticlePage.objects.live().filter(pk__in=body_blocks):
        if body_blocks[article.pk] - gated_figure_ids(article):
            public = True
        else:
            gated_articles.append(article)
    return PictureUses(public, tuple(gated_articles))


def image_access(
    user: rules.Person, image: AbstractImage
) -> tuple[rules.Access, ArticlePage | None]:
    """(Access, article) for `user` and a private file of `image`; the
    article is the one that refused it, for the refusal page. A private
    picture no live page shows any more is for editors only."""
    if (
        user is not None
        and user.is_authenticated
        and (user.is_staff or user.has_perm("wagtailadmin.access_admin"))
    ):
        return rules.Access(True, "staff"), None
    uses = picture_uses(image)
    if uses.public:
        return rules.Access(True, "public"), None
    refused: tuple[rules.Access, ArticlePage | None] = (
        rules.Access(False, "not-published"),
        None,
    )
    for article in uses.gated_articles:
        access = rules.decide(user, article)
        if access:
            return access, article
        if refused[1] is None:
            refused = (access, article)
    return refused


# --- Moving files -----------------------------------------------------------------


def images_shown_on(page: Page) -> set[int]:
    """The ids of the pictures `page`'s saved content refers to."""
    image_model = get_image_model()
    image_type = ContentType.objects.get_for_model(image_model)
    ids: set[int] = set()
    for (
        content_type_id,
        object_id,
        _path,
        _content_path,
    ) in ReferenceIndex._extract_references_from_object(page):
        if content_type_id == image_type.pk:
            ids.add(int(object_id))
    return ids


@transaction.atomic
def place_pictures(image_ids: Iterable[int]) -> list[int]:
    """Move each picture whose files are not where its uses say. Returns
    the ids of those moved."""
    moved = []
    for image in get_image_model().objects.filter(pk__in=image_ids).order_by("pk"):
        uses = picture_uses(image)
        # A picture used nowhere stays where it is.
        if (uses.public and image.is_private) or (uses.gated_only and not image.is_private):
            move_picture(image, private=uses.gated_only)
            moved.append(image.pk)
    if moved:
        # Cached pages name the old files.
        transaction.on_commit(partial(pages_changed.send, sender=None))
    return moved


def move_picture(image: AbstractImage, *, private: bool) -> None:
    """Copy `image`'s original to the private or the public storage, point
    the image at the copy, delete its renditions, and delete the old file
    once committed."""
    old_name = image.file.name
    new_name = private_image_name(old_name) if private else public_image_name(old_name)
    with image_storage.open(old_name, "rb") as handle:
        new_name = save_atomically(image_storage, new_name, handle.read())
    type(image).objects.filter(pk=image.pk).update(file=new_name)
    image.file.name = new_name
    for rendition in image.renditions.all():
        rendition.delete()  # its file goes on commit (Wagtail's signal handler)
    transaction.on_commit(lambda: image_storage.delete(old_name))


def images_affected_by(page: Page) -> set[int]:
    """The pictures whose place a change to `page` may change: those it shows,
    and for a section (whose level its articles may inherit) those its
    articles show."""
    ids = images_shown_on(page)
    if isinstance(page, SectionPage):
        for article in ArticlePage.objects.child_of(page):
            ids |= images_shown_on(article)
    return ids


def _specific(instance: Page) -> Page:
    return instance.specific if type(instance) is Page else instance


def remember_pictures_before_save(instance: object, **kwargs: Any) -> None:
    """pre_save of a page: note the pictures its saved content showed, to
    place them once the change is published."""
    if not isinstance(instance, Page) or instance.pk is None:
        return
    saved = type(instance)._default_manager.filter(pk=instance.pk).first()
    if saved is not None:
        instance._pictures_before = images_affected_by(saved)


def page_changed(instance: Page, **kwargs: Any) -> None:
    """page_published and page_unpublished: index the page's references now
    (Wagtail does it in a task), then place what it shows and showed."""
    page = _specific(instance)
    ReferenceIndex.create_or_update_for_object(page)
    before = getattr(instance, "_pictures_before", set()) | getattr(page, "_pictures_before", set())
    place_pictures(images_affected_by(page) | before)


def page_deleted(instance: object, **kwargs: Any) -> None:
    if isinstance(instance, Page) and type(instance) is not Page:
        place_pictures(images_affected_by(instance))
