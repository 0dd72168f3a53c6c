"""Cutting an article into its free teaser and the gated rest, and rendering
the two as HTML fragments kept per published revision."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import cache
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    from masthead.newsroom.models import ArticlePage

# Without an explicit teaser break, the teaser is this many paragraphs.
DEFAULT_TEASER_PARAGRAPHS = 2
FRAGMENT_TTL = 3600


def split_body(article: "ArticlePage") -> tuple[list[Any], list[Any]]:
    """(teaser_blocks, gated_blocks) of an article's body, in order.

    The teaser ends at the editor's teaser break, or after the first two
    paragraphs when there is none. The break block itself belongs to neither.
    """
    blocks = list(article.body)
    for position, block in enumerate(blocks):
        if block.block_type == "teaser_break":
            return blocks[:position], blocks[position + 1 :]
    paragraphs_seen = 0
    for position, block in enumerate(blocks):
        if block.block_type == "paragraph":
            paragraphs_seen += 1
            if paragraphs_seen == DEFAULT_TEASER_PARAGRAPHS:
                return blocks[: position + 1], blocks[position + 1 :]
    return blocks, []


def render_blocks(blocks: Sequence[Any], gated_article: "ArticlePage | None" = None) -> SafeString:
    """Blocks as HTML. The gated part of an article (`gated_article`) shows
    its pictures through the view that asks the rule (access/attachments.py)."""
    context = {"gated_article": gated_article} if gated_article is not None else None
    return mark_safe("".join(block.render_as_block(context) for block in blocks))


@dataclass(frozen=True)
class Fragments:
    """An article body as HTML: the teaser, and the rest (empty when the
    teaser is the whole body)."""

    teaser: str
    gated: str


def cut_teaser(article: "ArticlePage") -> Fragments:
    """The article's Fragments, rendered now."""
    teaser, gated = split_body(article)
    return Fragments(render_blocks(teaser), render_blocks(gated, gated_article=article))


def fragments_key(article: "ArticlePage") -> str:
    from masthead.core import generation

    published = article.last_published_at.timestamp() if article.last_published_at else 0
    # The generation moves on any publish, image or settings change, so
    # rendition URLs and linked pages in the body stay current.
    return (
        f"access:fragments:{generation.current()}:{article.pk}:"
        f"{article.live_revision_id}:{published}"
    )


def article_fragments(article: "ArticlePage", preview: bool = False) -> Fragments:
    """The article's Fragments, from the cache when the live revision has
    been rendered before. A preview is rendered afresh and never kept."""
    if preview or not article.live or article.pk is None:
        return cut_teaser(article)
    key = fragments_key(article)
    kept = cache.get(key)
    if kept is not None:
        return Fragments(mark_safe(kept[0]), mark_safe(kept[1]))
    fragments = cut_teaser(article)
    cache.set(key, (str(fragments.teaser), str(fragments.gated)), FRAGMENT_TTL)
    return fragments
