"""Issues of the magazine (volume, number, cover, ordered contents), the
publishing schedule, the archive and the site navigation. May import
newsroom, accounts and core.

`issues.actions.publish_issue` is the one step that publishes an issue with
everything that comes with it. Issues publishes the articles itself; the
editions, the print run and the new-issue email are steps that editions,
printing and mailings register (`actions.register_step`), and they add to
the admin screens through Wagtail hooks (see `admin_views`). Issues never
imports them.
"""
