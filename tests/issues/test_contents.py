"""The issue page's contents are numbered once through the issue."""

import re

import pytest

from masthead.newsroom.models import SectionPage
from tests.factories import make_article, make_issue

pytestmark = pytest.mark.django_db


def test_contents_are_numbered_once_through_not_again_per_section(client, site_tree):
    politics = SectionPage.objects.get(slug="politics")
    finance = SectionPage.objects.get(slug="finance")
    articles = [
        make_article(politics, title="One"),
        make_article(politics, title="Two"),
        make_article(finance, title="Three"),
        make_article(finance, title="Four"),
        make_article(politics, title="Five"),
    ]
    issue = make_issue(articles)
    numbered = [
        (section.slug, start, [a.title for a in section_articles])
        for section, start, section_articles in issue.numbered_contents()
    ]
    assert numbered == [("politics", 1, ["One", "Two", "Five"]), ("finance", 4, ["Three", "Four"])]

    html = client.get(issue.url).content.decode()
    assert re.findall(r'<ol class="toc"(?: start="(\d+)")?>', html) == ["", "4"]
