"""Search that matches only what the reader may read.

Two indexes answer a query: the articles' own (every word of the live
revision) and the teasers' (`Teaser`: headline, dek, byline, teaser
paragraphs). An article is found through its own index only when `decide`
grants it to the reader in full; otherwise only through its teaser. So a
query never answers yes or no about words behind the paywall.

Both indexes live in the same search backend (SQLite FTS5 embedded,
PostgreSQL full-text search at scale), so one query reads the same against
either.
"""

from typing import TYPE_CHECKING, Any

from django import forms
from django.db import connection
from django.db.models import QuerySet
from wagtail.models import Page
from wagtail.search.backends import get_search_backend

from masthead.newsroom.models import ArticlePage, SectionPage

from .models import Teaser
from .rules import decide
from .teaser import split_body

if TYPE_CHECKING:
    from .rules import Person

# A query is cut to this many characters.
QUERY_LENGTH = 200
# The most matches taken from each index: enough pages for any reader, and a
# bound on the articles asked about.
MATCHES = 500
# Quote marks and control characters mean something to the FTS5 and tsquery
# grammars, or nothing to a reader: they separate words.
SEPARATORS = {ord(c): " " for c in "\"'`“”‘’«»„"} | dict.fromkeys(range(32), " ") | {127: " "}


class SearchForm(forms.Form):
    q = forms.CharField(required=False, strip=True)
    page = forms.IntegerField(required=False, min_value=1)

    def clean_q(self) -> str:
        query: str = self.cleaned_data["q"]
        return " ".join(query.translate(SEPARATORS).split())[:QUERY_LENGTH]

    def clean_page(self) -> int:
        page: int | None = self.cleaned_data["page"]
        return page or 1


def teaser_text(article: ArticlePage) -> str:
    """The words of an article every reader may read, besides its headline."""
    teaser, _gated = split_body(article)
    names = [byline.author.name for byline in article.bylines.select_related("author")]
    return "\n".join([article.dek, *names, *article.plain_paragraphs(teaser)])


def refresh_teaser(article: ArticlePage) -> None:
    """Index what every reader may read of the article's live revision."""
    Teaser.objects.update_or_create(
        article=article, defaults={"title": article.title, "text": teaser_text(article)}
    )


def _scored(queryset: "QuerySet[Any]", words: str) -> list[Any]:
    return list(
        get_search_backend()
        .search(words, queryset, operator="and")
        .annotate_score("score")[:MATCHES]
    )


def _better(score: float) -> float:
    # SQLite's bm25() is lower for a better match; PostgreSQL's ts_rank higher.
    return score if connection.vendor == "sqlite" else -score


def _with_sections(articles: list[ArticlePage]) -> list[ArticlePage]:
    """Give each article its section from one query, so that `decide` does
    not ask for each one."""
    steplen = Page.steplen
    paths = {article.path[:-steplen] for article in articles}
    sections = {section.path: section for section in SectionPage.objects.filter(path__in=paths)}
    for article in articles:
        section = sections.get(article.path[:-steplen])
        if section is not None:
            article.section = section
    return articles


def search_articles(user: "Person", words: str) -> list[ArticlePage]:
    """Live articles matching the words for this reader, best match first."""
    live = ArticlePage.objects.live().public()
    found = _scored(live.prefetch_related("required_plans"), words)
    scores: dict[int, tuple[float, ArticlePage]] = {}
    for article in _with_sections(found):
        if decide(user, article):
            scores[article.pk] = (_better(article.score), article)
    teasers = _scored(Teaser.objects.filter(article__in=live.values("pk")), words)
    missing = [t.pk for t in teasers if t.pk not in scores]
    if missing:
        articles = live.in_bulk(missing)
        for teaser in teasers:
            if teaser.pk in articles and teaser.pk not in scores:
                scores[teaser.pk] = (_better(teaser.score), articles[teaser.pk])
    ranked = sorted(scores.values(), key=lambda pair: (pair[0], -pair[1].pk))
    return [article for _score, article in ranked]
