"""Blocks of an article body, in the order an editor reaches for them."""

from wagtail import blocks
from wagtail.images.blocks import ImageChooserBlock

RICH_TEXT_FEATURES = ["bold", "italic", "link", "document-link", "ol", "ul", "superscript"]


class FigureBlock(blocks.StructBlock):
    """An in-body image. Caption and credit default to the image's own."""

    image = ImageChooserBlock()
    caption = blocks.CharBlock(required=False, help_text="Leave blank to use the image's caption.")
    credit = blocks.CharBlock(required=False, help_text="Leave blank to use the image's credit.")

    class Meta:
        icon = "image"
        template = "newsroom/blocks/figure.html"


class BlockQuoteBlock(blocks.StructBlock):
    """A quotation from a source, set off from the text."""

    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False)

    class Meta:
        icon = "openquote"
        template = "newsroom/blocks/block_quote.html"


class PullQuoteBlock(blocks.StructBlock):
    """A line lifted from the article itself and displayed large."""

    text = blocks.TextBlock()
    attribution = blocks.CharBlock(required=False)

    class Meta:
        icon = "pick"
        template = "newsroom/blocks/pull_quote.html"


class TeaserBreakBlock(blocks.StaticBlock):
    """Marks where the free teaser ends on a subscriber-only article."""

    class Meta:
        icon = "lock"
        label = "Teaser break"
        admin_text = "Readers without access see the body up to here."
        template = "newsroom/blocks/teaser_break.html"


class EmbedBlock(blocks.StructBlock):
    """A video, post or map from another site, shown as a link to it: the
    page never loads a third party's script or frame."""

    url = blocks.URLBlock()
    caption = blocks.CharBlock(required=False)

    class Meta:
        icon = "media"
        template = "newsroom/blocks/embed.html"


class CodeBlock(blocks.StructBlock):
    """Program code or other preformatted text, kept as typed."""

    code = blocks.TextBlock()
    language = blocks.CharBlock(required=False)

    class Meta:
        icon = "code"
        template = "newsroom/blocks/code.html"


class HorizontalRuleBlock(blocks.StaticBlock):
    class Meta:
        icon = "horizontalrule"
        label = "Horizontal rule"
        admin_text = "A line between parts of the article."
        template = "newsroom/blocks/horizontal_rule.html"


class SanitisedHTMLBlock(blocks.TextBlock):
    """HTML brought in by an import that has no block of its own (a table, a
    gallery). Sanitised when it is saved and again when it is shown."""

    def get_prep_value(self, value):
        from masthead.core.sanitise import sanitise_html

        return sanitise_html(super().get_prep_value(value) or "")

    def render_basic(self, value, context=None):
        from django.utils.safestring import mark_safe

        from masthead.core.sanitise import sanitise_html

        return mark_safe(f'<div class="imported-html">{sanitise_html(value or "")}</div>')

    class Meta:
        icon = "code"
        label = "HTML (imported)"


class ArticleBodyBlock(blocks.StreamBlock):
    paragraph = blocks.RichTextBlock(
        features=RICH_TEXT_FEATURES, template="newsroom/blocks/paragraph.html"
    )
    heading = blocks.CharBlock(icon="title", template="newsroom/blocks/heading.html")
    figure = FigureBlock()
    block_quote = BlockQuoteBlock()
    pull_quote = PullQuoteBlock()
    teaser_break = TeaserBreakBlock()
    embed = EmbedBlock()
    code = CodeBlock()
    horizontal_rule = HorizontalRuleBlock()
    html = SanitisedHTMLBlock()
