"""Cutting an article into its free teaser and the gated rest."""

# Without an explicit teaser break, the teaser is this many paragraphs.
DEFAULT_TEASER_PARAGRAPHS = 2


def split_body(article):
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
