"""Plans, prices, subscriptions, payments, refunds, gifts, organisations
(group seats, email domains, invoice billing) and Stripe events.

Dependencies point one way: billing uses accounts (the member, their shipping
address) and core (`email.send_email`); access and the apps that gate content
ask billing through `entitlements.current_entitlement` and register for
`actions.ACCESS_REVOKED_HOOKS`. Billing imports nothing of theirs.

`stripe_api` is the only module in Masthead that imports `stripe`; `testmode`
answers the same calls without Stripe keys. State changes live in `actions`.
A seat by email domain is taken on Django's `user_logged_in` (connected in
`apps`), since accounts may not call billing.
"""
