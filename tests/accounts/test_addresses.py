import pytest
from django.core.exceptions import ValidationError

from masthead.accounts.actions import update_shipping_address
from masthead.accounts.addresses import validate_address
from masthead.accounts.models import AccountEvent, ShippingAddress


def address(**fields):
    return {"name": "Ada Reader", "line1": "1 Main Street", "city": "Springfield", **fields}


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"country": "us", "region": "ny", "postal_code": "10001"},
            {"country": "US", "region": "NY", "postal_code": "10001"},
        ),
        (
            {"country": "US", "region": "DC", "postal_code": "205000001"},
            {"region": "DC", "postal_code": "20500-0001"},
        ),
        ({"country": "US", "state": "CA", "postal_code": "94105-1234"}, {"region": "CA"}),
        (
            {"country": "CA", "region": "on", "postal_code": "k1a0b1"},
            {"region": "ON", "postal_code": "K1A 0B1"},
        ),
        ({"country": "CA", "region": "YT", "postal_code": "Y1A 6L3"}, {"region": "YT"}),
        ({"country": "GB", "postal_code": "sw1a1aa"}, {"postal_code": "SW1A 1AA", "region": ""}),
        ({"country": "GB", "postal_code": "M1 1AE"}, {"postal_code": "M1 1AE"}),
        ({"country": "GB", "postal_code": "EC1A 1BB", "region": "London"}, {"region": "London"}),
        ({"country": "DE", "postal_code": "10115"}, {"postal_code": "10115"}),
        ({"country": "FR", "postal_code": "75001"}, {"postal_code": "75001"}),
        ({"country": "NL", "postal_code": "1012 ab"}, {"postal_code": "1012 AB"}),
        ({"country": "HK", "postal_code": ""}, {"postal_code": ""}),
        (
            {"country": "JP", "postal_code": "100-0001", "line2": "  Apt   4 ", "company": None},
            {"line2": "Apt 4", "company": ""},
        ),
    ],
)
def test_valid_addresses_are_cleaned(fields, expected):
    cleaned = validate_address(address(**fields))
    assert set(cleaned) == {
        "name",
        "company",
        "line1",
        "line2",
        "city",
        "region",
        "postal_code",
        "country",
    }
    for key, value in expected.items():
        assert cleaned[key] == value


@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"country": "US", "postal_code": "10001"}, {"region": ["Enter the state."]}),
        (
            {"country": "US", "region": "PR", "postal_code": "00901"},
            {"region": ["Enter the two-letter state code, such as NY."]},
        ),
        (
            {"country": "US", "region": "NY", "postal_code": "1000"},
            {"postal_code": ["Enter a ZIP code of 5 or 9 digits, such as 12345 or 12345-6789."]},
        ),
        ({"country": "US", "region": "NY"}, {"postal_code": ["Enter the ZIP code."]}),
        (
            {"country": "CA", "region": "QC", "postal_code": "D1A 1A1"},
            {"postal_code": ["Enter a postal code such as K1A 0B1."]},
        ),
        (
            {"country": "CA", "region": "XX", "postal_code": "H2X 1Y4"},
            {"region": ["Enter the two-letter province or territory code, such as ON."]},
        ),
        (
            {"country": "GB", "postal_code": "12345"},
            {"postal_code": ["Enter a postcode such as SW1A 1AA."]},
        ),
        ({"country": "GB"}, {"postal_code": ["Enter the postcode."]}),
        (
            {"country": "DE", "postal_code": "1011"},
            {"postal_code": ["Enter a 5-digit postal code."]},
        ),
        (
            {"country": "FR", "postal_code": "75 001"},
            {"postal_code": ["Enter a 5-digit postal code."]},
        ),
        ({"country": "JP"}, {"postal_code": ["Enter the postal code."]}),
        ({"country": "XK", "postal_code": "1"}, {"country": ["Choose a country from the list."]}),
        ({"postal_code": "1"}, {"country": ["Choose a country."]}),
        (
            {"country": "DE", "postal_code": "10115", "line1": "", "city": " "},
            {"line1": ["Enter an address."], "city": ["Enter a city or town."]},
        ),
        (
            {"country": "DE", "postal_code": "10115", "city": "x" * 101},
            {"city": ["Use at most 100 characters."]},
        ),
    ],
)
def test_invalid_addresses_name_the_fields_at_fault(fields, errors):
    with pytest.raises(ValidationError) as raised:
        validate_address(address(**fields))
    assert raised.value.message_dict == errors


def test_unknown_field_is_a_programming_error():
    with pytest.raises(TypeError):
        validate_address(address(country="DE", postal_code="10115", zip="10115"))


@pytest.mark.django_db
def test_update_shipping_address_validates_stores_and_audits(member):
    stored = update_shipping_address(
        member,
        source="checkout",
        name="Ada Reader",
        line1="1 Main Street",
        line2=None,
        city="Brooklyn",
        state="ny",
        postal_code="11201",
        country="US",
    )
    assert ShippingAddress.objects.get(user=member) == stored
    assert (stored.region, stored.country, stored.line2) == ("NY", "US", "")
    assert stored.lines() == ["1 Main Street", "Brooklyn NY 11201", "United States"]
    assert member.shipping_address.recipient == "Ada Reader"
    event = AccountEvent.objects.get(user=member, kind=AccountEvent.Kind.ADDRESS_UPDATED)
    assert event.data == {"source": "checkout", "country": "US", "created": True}

    update_shipping_address(
        member, line1="10 Downing St", city="London", postal_code="sw1a2aa", country="gb"
    )
    stored.refresh_from_db()
    assert (stored.line1, stored.postal_code, stored.region, stored.name) == (
        "10 Downing St",
        "SW1A 2AA",
        "",
        "",
    )
    assert stored.recipient == "Ada Reader"  # falls back to the member's name
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.ADDRESS_UPDATED).count() == 2


@pytest.mark.django_db
def test_invalid_address_writes_nothing(member):
    with pytest.raises(ValidationError):
        update_shipping_address(
            member, line1="1 Main St", city="Austin", country="US", postal_code="7"
        )
    assert not ShippingAddress.objects.exists()
    assert not AccountEvent.objects.exists()
