import pytest

from masthead.audio import engines
from tests.audio.fakes import ToneEngine

TONE = "tests.audio.fakes.ToneEngine"


@pytest.fixture
def tone_engine(settings):
    """Narrate with the fast tone engine; yields its list of synthesised texts."""
    settings.NARRATION_ENGINE = TONE
    engines._loaded.pop(TONE, None)
    ToneEngine.calls = []
    yield ToneEngine.calls
    engines._loaded.pop(TONE, None)


@pytest.fixture
def subscriber(django_user_model, monkeypatch):
    """A member with a current subscription.

    Billing is being built alongside; until it lands, `current_entitlement`
    is patched to grant this user a paid entitlement.
    """
    from masthead.billing import entitlements

    user = django_user_model.objects.create_user(email="sub@example.org", password="pw-123456789")
    granted = {user.pk}
    original = entitlements.current_entitlement

    def current_entitlement(member):
        if getattr(member, "pk", None) in granted:
            return entitlements.Entitlement("paid", "monthly", False, None)
        return original(member)

    monkeypatch.setattr(entitlements, "current_entitlement", current_entitlement)
    user.granted = granted
    return user


@pytest.fixture
def member(django_user_model):
    return django_user_model.objects.create_user(email="free@example.org", password="pw-123456789")


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser(
        email="editor@example.org", password="pw-123456789"
    )
