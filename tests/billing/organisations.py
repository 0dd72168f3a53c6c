"""Organisations in the admin, shared by the group and admin tests."""


def organisation_form(plan, **fields):
    """The admin's organisation form, filled in; a field given as None is
    left out."""
    data = {
        "name": "City Library",
        "plan": plan.pk,
        "seats": 5,
        "manager_email": "",
        "domains": "",
        "networks": "",
        "access_notice": "",
        "contract_starts": "",
        "contract_ends": "",
        "billing_email": "",
        "days_until_due": 30,
        "active": "on",
    }
    data.update(fields)
    return {key: value for key, value in data.items() if value is not None}
