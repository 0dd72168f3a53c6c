"""Importers that move a magazine in from Ghost, WordPress (+ Leaky Paywall)
and Substack: its archive, authors and readers, paid ones linked to their
existing Stripe subscriptions.

Top floor: imports may use every domain app (newsroom, billing, accounts,
mailings, ...); no domain app imports it.

Layout:
- `records`: the neutral records every parser yields, and the parser interface.
- `html`: HTML (and Ghost's Lexical/mobiledoc, via HTML) to article body blocks.
- `ghost` (and the WordPress/Substack parsers): formats to records.
- `writer`: records to Masthead objects, idempotently, in batches.
- `registry`: importers by name, for the commands and the admin.
"""
