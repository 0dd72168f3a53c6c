"""Email to many readers at once: newsletters, mailings (the issue
newsletter's is the notify step of publishing an issue), deliveries,
unsubscribe, bounces and suppressions.

On the top floor: may import core, accounts, newsroom, issues, billing,
access and editions; only the floor above it (imports: a magazine moving
in brings its readers' newsletter choices) imports it. One-to-one transactional email is
`masthead.core.email.send_email`, which any app may use; mailings filters
out of it the addresses that complained (`core.email.RECIPIENT_FILTERS`).
"""
