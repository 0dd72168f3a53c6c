"""Mailings to many readers at once: the new-issue email (the notify step of
publishing an issue).

On the top floor: may import core, accounts, newsroom, issues, billing,
access and editions; nothing imports it. One-to-one transactional email is
`masthead.core.email.send_email`, which any app may use.
"""
