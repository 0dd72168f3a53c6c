from datetime import date

import pytest

from tests.factories import make_article, make_issue
from tests.issues.support import FakeBilling


@pytest.fixture
def billing(monkeypatch):
    return FakeBilling(monkeypatch)


@pytest.fixture
def issue(site_tree):
    from masthead.newsroom.models import SectionPage

    article = make_article(SectionPage.objects.get(slug="politics"), title="On the ballot")
    return make_issue([article], volume=12, number=22, cover_date=date(2026, 6, 1))
