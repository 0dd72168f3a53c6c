"""The bundled demo articles meet issue 2's rules for the demo magazine."""

import re
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from masthead.demo.catalogue import AUTHORS_BY_SLUG, ISSUES_BY_NUMBER, SECTION_ORDER
from masthead.demo.loader import DEFAULT_ARTICLES_DIR
from masthead.demo.parser import (
    MAX_WORDS,
    MIN_ARTICLES_PER_ISSUE,
    MIN_WORDS,
    parse_articles_dir,
)

EXPECTED_FILES = 24
FICTIONAL_HOSTS = ("example.org", "example.com", "example.net")


@pytest.fixture(scope="module")
def articles():
    # Parsing raises ArticleFormatError (file and line) for any broken file.
    return parse_articles_dir(DEFAULT_ARTICLES_DIR)


def test_all_demo_article_files_are_there():
    names = sorted(path.name for path in DEFAULT_ARTICLES_DIR.glob("*.txt"))
    assert len(names) == EXPECTED_FILES, names
    assert Counter(name[:2] for name in names) == {"20": 8, "21": 8, "22": 8}


def test_each_article_has_a_full_body_and_a_credited_lead_image(articles):
    for article in articles:
        name = article.path.name
        assert MIN_WORDS <= article.word_count() <= MAX_WORDS, (name, article.word_count())
        assert article.section in SECTION_ORDER, name
        assert article.authors and set(article.authors) <= set(AUTHORS_BY_SLUG), name
        assert article.image.description and article.image.caption, name
        assert article.image.credit, name
        for figure in article.figures():
            assert figure.caption and figure.credit, name
        if any(kind == "teaser_break" for kind, _ in article.body):
            assert article.access != "public", f"{name}: teaser break in a public article"
        cover_date = ISSUES_BY_NUMBER[article.issue].cover_date
        assert cover_date - timedelta(days=14) <= article.date <= cover_date, name


def test_each_issue_has_enough_articles_and_the_magazine_every_section(articles):
    per_issue = Counter(article.issue for article in articles)
    assert per_issue == {20: 8, 21: 8, 22: 8}
    assert min(per_issue.values()) >= MIN_ARTICLES_PER_ISSUE
    assert {article.section for article in articles} == set(SECTION_ORDER)
    assert len({slug for article in articles for slug in article.authors}) >= 5
    assert "subscribers" in {article.access for article in articles}


def test_links_point_at_fictional_addresses(articles):
    for article in articles:
        for kind, value in article.body:
            if kind != "paragraph":
                continue
            for url in re.findall(r'href="([^"]+)"', value):
                host = urlsplit(url.replace("&amp;", "&")).hostname or ""
                fictional = any(host == h or host.endswith(f".{h}") for h in FICTIONAL_HOSTS)
                assert fictional, (article.path.name, url)
