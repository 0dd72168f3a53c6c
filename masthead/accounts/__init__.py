"""Readers' and staff accounts: the custom User (email is the login), magic
links, the account page, email preferences and the shipping address.

State changes live in `actions` (other apps call `update_shipping_address`);
address rules in `addresses`; rate limits in `ratelimit`. Accounts may import
core only; billing plugs into the account page through the
`billing/includes/account_billing.html` template and into account deletion
through `actions.BEFORE_DELETE_HOOKS`, printing into address changes through
`actions.ADDRESS_CHANGE_NOTICES`, mailings into the sign-up form through
`actions.SIGN_UP_CHOICES` and `actions.AFTER_SIGN_UP_HOOKS`.
"""
