"""Shipping-address rules by country.

`validate_address(data)` is the one check every address passes before it is
stored, whether a member typed it on the account page or Stripe Checkout
collected it: it returns a cleaned dict with every field, or raises a
ValidationError whose dict names the fields at fault.

Rules: line 1, city and country are always required, and a postal code
everywhere except the few countries that have none. The United States need a
state (the 50 states and DC) and a 5 or 9 digit ZIP code; Canada a province
or territory and an A1A 1A1 postal code; the United Kingdom a postcode of the
Royal Mail's shape and no region; Germany and France a 5-digit postal code.
"""

import re

from django.core.exceptions import ValidationError

from .countries import COUNTRIES

FIELDS = ("name", "company", "line1", "line2", "city", "region", "postal_code", "country")
# Other names callers may use for a field: Stripe calls the region "state".
ALIASES = {"state": "region"}
MAX_LENGTHS = {
    "name": 200,
    "company": 200,
    "line1": 200,
    "line2": 200,
    "city": 100,
    "region": 100,
    "postal_code": 20,
    "country": 2,
}

# The 50 states and the District of Columbia.
US_STATES = frozenset(
    {
        "AL",
        "AK",
        "AZ",
        "AR",
        "CA",
        "CO",
        "CT",
        "DE",
        "FL",
        "GA",
        "HI",
        "ID",
        "IL",
        "IN",
        "IA",
        "KS",
        "KY",
        "LA",
        "ME",
        "MD",
        "MA",
        "MI",
        "MN",
        "MS",
        "MO",
        "MT",
        "NE",
        "NV",
        "NH",
        "NJ",
        "NM",
        "NY",
        "NC",
        "ND",
        "OH",
        "OK",
        "OR",
        "PA",
        "RI",
        "SC",
        "SD",
        "TN",
        "TX",
        "UT",
        "VT",
        "VA",
        "WA",
        "WV",
        "WI",
        "WY",
        "DC",
    }
)
CA_PROVINCES = frozenset(
    {"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT"}
)
# Countries whose addresses carry no postal code.
NO_POSTAL_CODE = frozenset({"AE", "AO", "BS", "BZ", "HK", "IE", "JM", "QA"})

US_ZIP = re.compile(r"^(\d{5})(?:-?(\d{4}))?$")
CA_POSTAL_CODE = re.compile(r"^([ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z])(\d[ABCEGHJ-NPRSTV-Z]\d)$")
GB_POSTCODE = re.compile(r"^(GIR|[A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$")
FIVE_DIGITS = re.compile(r"^\d{5}$")


def validate_address(data):
    """Check `data` (a mapping of address fields) against its country's rules.

    Returns a dict with all of FIELDS, stripped and normalised (country and
    region codes upper case, postal codes in their usual spelling). Raises
    ValidationError with a per-field dict; TypeError for a field name that is
    not an address field.
    """
    values = dict.fromkeys(FIELDS, "")
    for key, value in data.items():
        field = ALIASES.get(key, key)
        if field not in values:
            raise TypeError(f"Unknown address field: {key!r}")
        values[field] = " ".join(str(value).split()) if value is not None else ""

    errors = {}

    def error(field, message):
        errors.setdefault(field, []).append(message)

    for field, limit in MAX_LENGTHS.items():
        if len(values[field]) > limit:
            error(field, f"Use at most {limit} characters.")

    country = values["country"] = values["country"].upper()
    if not country:
        error("country", "Choose a country.")
    elif country not in COUNTRIES:
        error("country", "Choose a country from the list.")
    for field, label in (("line1", "an address"), ("city", "a city or town")):
        if not values[field]:
            error(field, f"Enter {label}.")

    region = values["region"].upper()
    postal_code = values["postal_code"].upper()
    compact_code = postal_code.replace(" ", "")
    if country == "US":
        values["region"] = region
        if not region:
            error("region", "Enter the state.")
        elif region not in US_STATES:
            error("region", "Enter the two-letter state code, such as NY.")
        match = US_ZIP.match(postal_code)
        if not postal_code:
            error("postal_code", "Enter the ZIP code.")
        elif not match:
            error("postal_code", "Enter a ZIP code of 5 or 9 digits, such as 12345 or 12345-6789.")
        else:
            values["postal_code"] = "-".join(part for part in match.groups() if part)
    elif country == "CA":
        values["region"] = region
        if not region:
            error("region", "Enter the province or territory.")
        elif region not in CA_PROVINCES:
            error("region", "Enter the two-letter province or territory code, such as ON.")
        match = CA_POSTAL_CODE.match(compact_code)
        if not postal_code:
            error("postal_code", "Enter the postal code.")
        elif not match:
            error("postal_code", "Enter a postal code such as K1A 0B1.")
        else:
            values["postal_code"] = " ".join(match.groups())
    elif country == "GB":
        match = GB_POSTCODE.match(compact_code)
        if not postal_code:
            error("postal_code", "Enter the postcode.")
        elif not match:
            error("postal_code", "Enter a postcode such as SW1A 1AA.")
        else:
            values["postal_code"] = " ".join(match.groups())
    elif country in ("DE", "FR"):
        if not postal_code:
            error("postal_code", "Enter the postal code.")
        elif not FIVE_DIGITS.match(postal_code):
            error("postal_code", "Enter a 5-digit postal code.")
        else:
            values["postal_code"] = postal_code
    elif country and country not in NO_POSTAL_CODE and not postal_code:
        error("postal_code", "Enter the postal code.")
    else:
        values["postal_code"] = postal_code

    if errors:
        raise ValidationError(errors)
    return values
