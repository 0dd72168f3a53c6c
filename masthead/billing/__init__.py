"""Plans, prices, subscriptions, payments, refunds and Stripe events.
`stripe_api` is the only module in Masthead that imports `stripe`."""
