"""Transactional email and newsletters: newsletters, mailings, deliveries,
unsubscribe, bounces and suppressions.

Sits on top: may import core, accounts, newsroom, issues, billing and access;
nothing below imports it (accounts asks for the newsletter choices through
the `core` hooks it offers)."""
