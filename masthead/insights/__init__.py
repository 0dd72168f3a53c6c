"""Insights: the members area (list, filters, a member's timeline, labels and
private notes, CSV export, bulk actions) and the publisher's dashboard
(recurring revenue, paying readers, churn, refunds, cohorts, revenue,
circulation, reading and listening).

The top floor: it may import every domain app (accounts, billing, printing,
editions, audio, mailings, access, newsroom, issues) and nothing imports it:
serving (article views, page cache hits) and billing (fulfilled checkouts)
call the hooks this app registers in `apps.py`. State changes made from
the members area go through the owning app's actions, and each leaves a
`StaffAction` row here as well.
"""
