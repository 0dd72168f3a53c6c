"""Print runs: each issue's mailing list for the printer, vacation holds.

Depends on issues (the issue and its schedule), billing (who is entitled to
print, through `billing.entitlements`) and accounts (shipping addresses).
Printing registers the step that closes a run when its issue is published
(`issues.actions.register_step`), and `cutoff_notice_for(user)` as an
address-change notice of the account page (`accounts.actions.
ADDRESS_CHANGE_NOTICES`). A top-floor app: nothing imports it.
"""
