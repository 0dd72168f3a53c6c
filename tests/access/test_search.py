"""Search matches a reader against what they may read, and reads any query
string without failing."""

import pytest
from bs4 import BeautifulSoup
from django.contrib.auth import get_user_model

from tests.factories import make_article, paragraph

pytestmark = pytest.mark.django_db


def found(client, **params):
    response = client.get("/search/", params)
    soup = BeautifulSoup(response.content, "html.parser")
    return response.status_code, [h.get_text() for h in soup.select(".search-results h2")]


@pytest.fixture
def report(magazine):
    """A subscriber-only article whose figure is behind the teaser break."""
    return make_article(
        magazine["sections"]["finance"],
        title="Banca Ostiense under scrutiny",
        dek="Regulators look at a regional lender.",
        access_level="subscribers",
        body=[
            paragraph("<p>Banca Ostiense, a lender near Rome, faces questions.</p>"),
            ("teaser_break", None),
            paragraph("<p>Its auditors found a hole of €140 million.</p>"),
        ],
    )


@pytest.fixture
def editor(db):
    return get_user_model().objects.create_user(
        email="desk@example.org", password="x", is_staff=True
    )


def test_a_figure_behind_the_paywall_finds_nothing_for_a_reader_without_access(client, report):
    assert found(client, q="Banca Ostiense 140 million") == (200, [])
    assert found(client, q="Banca Ostiense 150 million") == (200, [])
    assert found(client, q="Banca Ostiense Rome") == (200, ["Banca Ostiense under scrutiny"])


def test_a_reader_with_access_searches_the_whole_article(client, report, editor):
    client.force_login(editor)
    assert found(client, q="Banca Ostiense 140 million") == (200, ["Banca Ostiense under scrutiny"])
    assert found(client, q="auditors") == (200, ["Banca Ostiense under scrutiny"])


def test_a_published_edit_moves_the_teaser_index(client, report):
    report.body = [
        paragraph("<p>Banca Ostiense, a lender near Rome, faces questions.</p>"),
        paragraph("<p>Its auditors found a hole of €140 million.</p>"),
        ("teaser_break", None),
        paragraph("<p>The rest.</p>"),
    ]
    report.save_revision().publish()
    assert found(client, q="auditors 140") == (200, ["Banca Ostiense under scrutiny"])
    report.unpublish()
    assert found(client, q="Banca Ostiense") == (200, [])


def test_headline_dek_and_byline_find_a_gated_article(client, magazine):
    assert found(client, q="bond market") == (200, ["The bond market blinks"])
    assert found(client, q="José Ortiz bond") == (200, ["The bond market blinks"])


# Quote marks, FTS5 and tsquery syntax, format markers, control and
# direction characters, and lengths past the cut.
HOSTILE_QUERIES = [
    '"',
    'a"b',
    "a\x00b",
    "\x00",
    "'",
    "*",
    "a*",
    "-",
    "(",
    ")",
    "NEAR(a b)",
    "a OR",
    "AND",
    "^a",
    "a:b",
    "title:x",
    "\\",
    "%",
    "%s",
    "{a}",
    "%s %d x",
    "a \\ b",
    "NEAR a OR b NOT c",
    "a - b",
    "a" * 5000,
    "\u202e",
    "é" * 300,
]


@pytest.mark.parametrize("q", HOSTILE_QUERIES)
def test_any_query_gets_a_clean_answer(client, magazine, q):
    status, _titles = found(client, q=q)
    assert status in (200, 400)


@pytest.mark.parametrize("query", ["q=%22", "q=a%22b", "q=%00a", "q=%ED%A0%80", "q=%FF", "q=a&q=b"])
def test_raw_query_strings_get_a_clean_answer(client, magazine, query):
    assert client.get(f"/search/?{query}").status_code in (200, 400)


@pytest.mark.parametrize("page", ["", "0", "-1", "abc", "2", "99999999999999999999", "1.5", "\x00"])
def test_any_page_number_gets_a_clean_answer(client, magazine, page):
    status, _titles = found(client, q="bond", page=page)
    assert status in (200, 400)


def test_a_null_character_is_refused_with_a_message(client, magazine):
    response = client.get("/search/", {"q": "a\x00b"})
    assert response.status_code == 400
    assert "could not be read" in response.content.decode()


def test_quote_marks_separate_words(client, magazine):
    assert found(client, q='"bond" market') == (200, ["The bond market blinks"])


def test_index_teasers_covers_articles_published_before_it(client, report):
    from django.core.management import call_command

    from masthead.access.models import Teaser

    Teaser.objects.all().delete()
    assert found(client, q="Banca Ostiense Rome") == (200, [])
    call_command("index_teasers")
    assert found(client, q="Banca Ostiense Rome") == (200, ["Banca Ostiense under scrutiny"])
