import pytest

from tests.editions.builders import build_rich_issue
from tests.issues.support import FakeBilling


@pytest.fixture
def billing(monkeypatch):
    return FakeBilling(monkeypatch)


@pytest.fixture
def rich_issue(site_tree):
    return build_rich_issue()
