from datetime import date
from pathlib import Path

import pytest

from masthead.demo.parser import (
    ArticleFormatError,
    Figure,
    inline_html,
    parse_article_file,
    parse_article_text,
    plain_inline,
)

PATH = Path("articles/22-03-river-compact.txt")
HEADER = """\
title: The River Compact
dek: Seven states and one shrinking river.
section: environment
authors: tomas-lindqvist, helen-marsh
issue: 22
date: 2026-11-12
access: subscribers
tags: Water, drought, water
image: A dry riverbed under a white sky
caption: The riverbed near Yuma, Ariz., in August.
credit: Meridian Review / Staff
"""


def parse(body, header=HEADER, path=PATH):
    return parse_article_text(f"{header}---\n{body}", path)


def test_header_fields_and_slug_from_the_file_name():
    article = parse("One paragraph.\n")
    assert article.slug == "river-compact"
    assert article.order == 3
    assert article.title == "The River Compact"
    assert article.section == "environment"
    assert article.authors == ["tomas-lindqvist", "helen-marsh"]
    assert article.issue == 22
    assert article.date == date(2026, 11, 12)
    assert article.access == "subscribers"
    assert article.tags == ["water", "drought"]
    assert article.image == Figure(
        "A dry riverbed under a white sky",
        "The riverbed near Yuma, Ariz., in August.",
        "Meridian Review / Staff",
    )
    assert article.correction == ""


def test_paragraph_lines_join_and_links_and_emphasis_become_html():
    article = parse(
        "The [compact](https://example.org/compact?a=1&b=2) was signed\n"
        "in *Santa Fe* on a **Tuesday**.\n\nSecond paragraph.\n"
    )
    assert article.body == [
        (
            "paragraph",
            '<p>The <a href="https://example.org/compact?a=1&amp;b=2">compact</a> was signed '
            "in <i>Santa Fe</i> on a <b>Tuesday</b>.</p>",
        ),
        ("paragraph", "<p>Second paragraph.</p>"),
    ]


def test_text_is_escaped_but_apostrophes_stay_readable():
    html = inline_html('Profits at AT&T <b>rose</b> 5 < 6, it\'s "said"')
    assert html == 'Profits at AT&amp;T &lt;b&gt;rose&lt;/b&gt; 5 &lt; 6, it\'s "said"'


def test_link_address_quotes_are_escaped_and_link_text_keeps_emphasis():
    html = inline_html('See [the *new* rules](https://example.com/a"onmouseover="x)')
    assert (
        html
        == 'See <a href="https://example.com/a&quot;onmouseover=&quot;x">the <i>new</i> rules</a>'
    )


def test_emphasis_needs_closing_marks_and_leaves_arithmetic_alone():
    assert inline_html("2 * 3 * 4 and *unclosed") == "2 * 3 * 4 and *unclosed"


def test_link_with_other_scheme_is_an_error_with_its_line():
    with pytest.raises(ArticleFormatError) as caught:
        parse("First.\n\nA [bad link](example.org/path) here.\n")
    # The header has 11 lines, then ---, so the body starts on line 13.
    assert str(caught.value).startswith(f"{PATH}:15: ")
    assert "'example.org/path' must start with https://" in str(caught.value)


def test_unreadable_link_is_an_error():
    with pytest.raises(ArticleFormatError, match="a link that cannot be read"):
        parse("A [link](https://example.org/a b) with a space.\n")


def test_headings_quotes_lists_figures_and_the_teaser_break():
    article = parse(
        "Opening paragraph.\n"
        "\n"
        "[teaser-break]\n"
        "\n"
        "## After the *drought*\n"
        "> We will not give up a drop. | José Peña, Imperial Irrigation District\n"
        ">> The river is the contract.\n"
        "> A quote that runs\n"
        "> over two lines. | A farmer\n"
        "\n"
        "- Arizona: 2.8 million acre-feet\n"
        "- Nevada: [0.3 million](https://example.net/nv)\n"
        "  a year\n"
        "[figure: A map of the basin | The Colorado basin. | Meridian Review / Graphics]\n"
        "Closing paragraph.\n"
    )
    assert article.body == [
        ("paragraph", "<p>Opening paragraph.</p>"),
        ("teaser_break", None),
        ("heading", "After the drought"),
        (
            "block_quote",
            {
                "text": "We will not give up a drop.",
                "attribution": "José Peña, Imperial Irrigation District",
            },
        ),
        ("pull_quote", {"text": "The river is the contract.", "attribution": ""}),
        ("block_quote", {"text": "A quote that runs over two lines.", "attribution": "A farmer"}),
        (
            "paragraph",
            "<ul><li>Arizona: 2.8 million acre-feet</li>"
            '<li>Nevada: <a href="https://example.net/nv">0.3 million</a> a year</li></ul>',
        ),
        (
            "figure",
            Figure("A map of the basin", "The Colorado basin.", "Meridian Review / Graphics"),
        ),
        ("paragraph", "<p>Closing paragraph.</p>"),
    ]
    assert article.figures() == [article.body[7][1]]


def test_word_count_counts_text_lists_headings_and_quotes_not_captions():
    article = parse(
        "One two [three](https://example.org/) four.\n\n## Five six\n\n- seven\n- eight\n\n"
        "> nine ten | Not counted\n\n[figure: not | counted | either]\n"
    )
    assert article.word_count() == 10


def test_plain_inline_drops_markup():
    assert plain_inline("A *fine* [day](https://example.org/) **indeed**") == "A fine day indeed"


@pytest.mark.parametrize(
    ("header", "line", "fragment"),
    [
        (HEADER.replace("section: environment", "section: sport"), 3, "unknown section 'sport'"),
        (HEADER.replace("access: subscribers", "access: paid"), 7, "unknown access 'paid'"),
        (HEADER.replace("helen-marsh", "ghost-writer"), 4, "unknown author 'ghost-writer'"),
        (HEADER.replace("date: 2026-11-12", "date: 12/11/2026"), 6, "YYYY-MM-DD"),
        (HEADER.replace("issue: 22", "issue: 21"), 5, "does not match the file name"),
        (HEADER.replace("issue: 22", "issue: nineteen"), 5, "must be a number"),
        (HEADER.replace("tags:", "keywords:"), 8, "unknown header key 'keywords'"),
        (HEADER.replace("tags: Water", "tags Water"), 8, "expected 'key: value'"),
        (HEADER + "title: Again\n", 12, "'title' appears twice (first on line 1)"),
        (
            HEADER.replace("caption: The riverbed near Yuma, Ariz., in August.\n", ""),
            11,
            "lacks caption",
        ),
    ],
)
def test_bad_header_names_the_file_and_the_line(header, line, fragment):
    with pytest.raises(ArticleFormatError) as caught:
        parse("Body.\n", header=header)
    message = str(caught.value)
    assert message.startswith(f"{PATH}:{line}: ")
    assert fragment in message


def test_missing_separator_and_bad_file_name_name_the_file():
    with pytest.raises(ArticleFormatError, match=r"river-compact\.txt: no '---' line"):
        parse_article_text(HEADER + "Body.\n", PATH)
    with pytest.raises(ArticleFormatError, match=r"river\.txt: the file name must be"):
        parse("Body.\n", path=Path("river.txt"))


@pytest.mark.parametrize(
    ("body", "line", "fragment"),
    [
        ("Text.\n\n[figure: only a description]\n", 15, "[figure: description | caption | credit]"),
        ("[figure: a | b | c\n", 13, "must end with ']'"),
        (
            "[teaser-break]\n\n[teaser-break]\n",
            15,
            "second [teaser-break] (the first is on line 13)",
        ),
        ("[teaser break]\n", 13, "unknown directive"),
        ("### Too deep\n", 13, "'## Subheading'"),
        (">  | Nobody\n", 13, "needs text"),
    ],
)
def test_bad_body_lines_name_the_file_and_the_line(body, line, fragment):
    with pytest.raises(ArticleFormatError) as caught:
        parse(body)
    assert str(caught.value).startswith(f"{PATH}:{line}: ")
    assert fragment in str(caught.value)


def test_empty_body_is_an_error():
    with pytest.raises(ArticleFormatError, match="body is empty"):
        parse("\n\n")


def test_file_that_is_not_utf8(tmp_path):
    path = tmp_path / "20-01-latin.txt"
    path.write_bytes((HEADER + "---\nJos\xe9\n").encode("latin-1"))
    with pytest.raises(ArticleFormatError, match="not UTF-8"):
        parse_article_file(path)
