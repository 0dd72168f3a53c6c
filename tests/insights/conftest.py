import pytest


@pytest.fixture
def publisher_in_utc(settings):
    settings.PUBLISHER_TIME_ZONE = "UTC"


@pytest.fixture
def history(db, publisher_in_utc):
    from tests.insights.history import build_history

    return build_history()
