import pytest

from tests.issues.support import FakeBilling, audio_receivers_disconnected


@pytest.fixture
def billing(monkeypatch):
    return FakeBilling(monkeypatch)


@pytest.fixture
def quiet_audio():
    with audio_receivers_disconnected():
        yield
