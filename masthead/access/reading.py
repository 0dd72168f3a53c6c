"""What one reader sees of an article: the Reader.

A reader's copy of an article page depends on a handful of things: whether
they get the whole body, and if not why not (the paywall's wording); whether
they see ads; whether they are signed in; their meter. Together these are
the page's *variant* (`Reader.variant`): every reader with the same variant
gets the same HTML, which is what lets serving cache one rendering per
variant (masthead/serving/variants.py).
"""

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from masthead.newsroom.models import AccessLevel, ArticlePage

from . import rules
from .institutions import current_institution
from .teaser import Fragments, article_fragments


@dataclass
class Reader:
    """One reader in front of one article."""

    article: ArticlePage | None
    terms: rules.Terms
    access: rules.Access
    signed_in: bool
    ads: bool
    meter: rules.Meter | None = None
    preview: bool = False
    # The organisation whose IP ranges the request came from: its page
    # carries the notice of who provides access.
    institution: int | None = None

    @property
    def full(self) -> bool:
        return self.access.granted

    @property
    def gated(self) -> bool:
        """Whether the article has a part only some readers get."""
        return bool(self.terms.level != AccessLevel.PUBLIC)

    @property
    def fragments(self) -> Fragments:
        if not hasattr(self, "_fragments"):
            assert self.article is not None, "fragments of a reader made without its article"
            self._fragments = article_fragments(self.article, preview=self.preview)
        return self._fragments

    @property
    def teaser_html(self) -> str:
        return self.fragments.teaser

    @property
    def gated_html(self) -> str:
        """The rest of the body: only ever for a reader with access."""
        return self.fragments.gated if self.full else ""

    @property
    def variant(self) -> str:
        access = "full" if self.full else "teaser"
        meter = f"{self.meter.used}-{self.meter.allowance}" if self.meter else "-"
        institution = f":org{self.institution}" if self.institution is not None else ""
        return (
            f"{access}:{self.access.reason}:{'ads' if self.ads else 'no-ads'}:"
            f"{'in' if self.signed_in else 'out'}:{meter}{institution}"
        )


def page_terms(article: ArticlePage) -> rules.Terms:
    return rules.article_terms(article)


def reader_for(
    request: HttpRequest,
    article: ArticlePage | None = None,
    terms: rules.Terms | None = None,
    user: Any = None,
    remember: bool = True,
) -> Reader:
    """The Reader for this request and article, worked out once per request
    (`remember=False`: worked out for a look only, not kept for the rest of
    the request).

    Opening the page is what spends a metered read (`rules.open_article`).
    `user` stands in for `request.user` (serving's cached member).
    """
    if terms is None:
        assert article is not None
        terms = page_terms(article)
    known: dict[int | None, Reader] = request.__dict__.setdefault("_masthead_readers", {})
    if terms.article_id in known:
        reader = known[terms.article_id]
        if reader.article is None and article is not None:
            reader.article = article
        return reader
    if user is None:
        user = getattr(request, "user", None)
    preview = bool(getattr(request, "is_preview", False))
    access = rules.Access(True, "preview") if preview else rules.open_article(user, terms)
    institution = current_institution()
    meter = rules.meter(user) if access.reason in ("metered", "meter-spent") else None
    reader = Reader(
        article=article,
        terms=terms,
        access=access,
        signed_in=rules.is_signed_in(user),
        ads=rules.shows_ads(user),
        meter=meter,
        preview=preview,
        institution=institution.organisation_id if institution is not None else None,
    )
    if remember:
        known[terms.article_id] = reader
    return reader
