"""Print runs: each issue's mailing list for the printer, vacation holds.

Depends on issues (the issue and its schedule), billing (who is entitled to
print, through `billing.entitlements`) and accounts (shipping addresses).
`issues.actions` closes a run when its issue is published; the account page
may call `printing.actions.cutoff_notice_for(user)` after an address change.
"""
