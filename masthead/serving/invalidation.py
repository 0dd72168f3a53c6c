"""What makes cached copies stale: the one table, and the receivers.

Three things are cached (pagecache.py, variants.py, members.py):

- PAGES: every rendered page, anonymous or a signed-in reader's variant,
  and what renderings reuse (teaser fragments, ads). All their keys carry
  the publish generation, so one bump makes them all stale, in every
  process within SERVING_PER_PROCESS_SECONDS.
- ENTITLEMENT: one member's cached entitlement (billing's answer), with the
  issues they bought on their own.
- MEMBER: one member's cached details (auth hash, staff, editor).

The institutions' IP ranges (institutions.py) are kept per generation too:
a write to an organisation, its ranges or its subscription makes PAGES
stale.

`STALE_WHEN` below is the table: (sender, signal, what it makes stale). Its
receivers are connected from `ServingConfig.ready`, by the model's label and
for any model whose concrete model it is, so a proxy model's save (a
ComplimentaryGrant is a Subscription) counts as its concrete model's.

Why invalidation cannot be bypassed: `save()` and `delete()` (a queryset's
`delete()` too) send `post_save` and `post_delete`; the bulk writes that send
neither (`QuerySet.update`, `bulk_create`, `bulk_update`) go through
`core.querysets.ReportingQuerySet` on the models whose changes reach a
member (Subscription, IssuePurchase, User, Organisation, OrganisationSeat,
OrganisationNetwork), which sends `core.signals.rows_changed`. An
import creates its rows with `create()` and publishes its pages; a webhook
saves the subscription it re-fetched. Entitlements and members are dropped
at once and again once the change is committed: a request that read the old
state meanwhile may have cached it. Pages go stale once a publish is
committed (until then readers see the old content, and a page cached
meanwhile is right for its generation).
"""

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db import models, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal
from wagtail.signals import page_published, page_slug_changed, page_unpublished, post_page_move

from masthead.core.signals import pages_changed, pages_refreshed, rows_changed

from . import members
from .pagecache import invalidate_pages


class Stale(enum.Enum):
    PAGES = "every cached page"
    PAGES_ON_COMMIT = "every cached page, once committed"
    ENTITLEMENT = "the member's cached entitlement"
    SEAT_HOLDERS = "the cached entitlements of an organisation's seat holders"
    MEMBER = "the member's cached details"
    SESSIONS = "this process's copies of sessions"


@dataclass(frozen=True)
class Rule:
    sender: str | None  # a model label, or None: any sender
    signal: Signal
    stale: Stale
    # Which sends count (e.g. only the fields readers see); all by default.
    when: Callable[..., bool] | None = None


def _not_created(created: bool = False, **kwargs: Any) -> bool:
    # Settings are created with their defaults on the first page view; only
    # an editor's change alters pages.
    return not created


# Fields of an image that readers see; Wagtail also saves images to record
# file sizes and hashes while rendering, which must not flush the cache.
VISIBLE_IMAGE_FIELDS = {"title", "caption", "credit", "file", "focal_point_x"}


def _visible_image_change(update_fields: Iterable[str] | None = None, **kwargs: Any) -> bool:
    return update_fields is None or bool(VISIBLE_IMAGE_FIELDS & set(update_fields))


# The article page's player appears once a narration has its files.
NARRATION_FILE_FIELDS = {"audio_file", "teaser_file"}


def _narration_files(
    instance: Any, update_fields: Iterable[str] | None = None, **kwargs: Any
) -> bool:
    if not (instance.audio_file or instance.teaser_file):
        return False
    return update_fields is None or bool(NARRATION_FILE_FIELDS & set(update_fields))


def _of_organisation(instance: Any, **kwargs: Any) -> bool:
    # Only an organisation's subscription changes its seat holders and who
    # reads by IP range. A member's own subscription is never one.
    if instance.member_id is not None:
        return False
    from masthead.billing.models import Organisation

    return Organisation.objects.filter(subscription_id=instance.pk).exists()


USER = "accounts.User"

STALE_WHEN: tuple[Rule, ...] = (
    # Content: publishing, unpublishing, moving, renaming or deleting a page.
    Rule(None, page_published, Stale.PAGES_ON_COMMIT),
    Rule(None, page_unpublished, Stale.PAGES_ON_COMMIT),
    Rule(None, page_slug_changed, Stale.PAGES_ON_COMMIT),
    Rule(None, post_page_move, Stale.PAGES_ON_COMMIT),
    Rule("wagtailcore.Page", post_delete, Stale.PAGES_ON_COMMIT),
    # A site's host name or root: cached routes and sites go.
    Rule("wagtailcore.Site", post_save, Stale.PAGES_ON_COMMIT),
    Rule("wagtailcore.Site", post_delete, Stale.PAGES_ON_COMMIT),
    Rule("newsroom.Author", post_save, Stale.PAGES_ON_COMMIT),
    Rule("newsroom.CreditedImage", post_save, Stale.PAGES_ON_COMMIT, _visible_image_change),
    Rule("core.MagazineSettings", post_save, Stale.PAGES_ON_COMMIT, _not_created),
    Rule("access.PaywallSettings", post_save, Stale.PAGES_ON_COMMIT, _not_created),
    # What the paywall, the ads or a page's privacy show.
    Rule("billing.Plan", post_save, Stale.PAGES),
    Rule("billing.Plan", post_delete, Stale.PAGES),
    Rule("billing.Price", post_save, Stale.PAGES),
    Rule("billing.Price", post_delete, Stale.PAGES),
    # The price of a single issue, offered on the issue pages.
    Rule("billing.BillingSettings", post_save, Stale.PAGES, _not_created),
    Rule("ads.AdSlot", post_save, Stale.PAGES),
    Rule("ads.AdSlot", post_delete, Stale.PAGES),
    Rule("wagtailcore.PageViewRestriction", post_save, Stale.PAGES),
    Rule("wagtailcore.PageViewRestriction", post_delete, Stale.PAGES),
    Rule("audio.Narration", post_save, Stale.PAGES, _narration_files),
    # A picture moved between storages, a narration's files ready (sent by
    # access.pictures and audio.actions once committed).
    Rule(None, pages_changed, Stale.PAGES),
    # Who reads by IP range (serving/institutions.py keeps the ranges per
    # generation): an organisation, its ranges, its subscription.
    Rule("billing.Organisation", post_save, Stale.PAGES),
    Rule("billing.Organisation", post_delete, Stale.PAGES),
    Rule("billing.Organisation", rows_changed, Stale.PAGES),
    Rule("billing.OrganisationNetwork", post_save, Stale.PAGES),
    Rule("billing.OrganisationNetwork", post_delete, Stale.PAGES),
    Rule("billing.OrganisationNetwork", rows_changed, Stale.PAGES),
    Rule("billing.Subscription", post_save, Stale.PAGES, _of_organisation),
    # A member's entitlement: any write to one of their subscriptions.
    Rule("billing.Subscription", post_save, Stale.ENTITLEMENT),
    Rule("billing.Subscription", post_delete, Stale.ENTITLEMENT),
    Rule("billing.Subscription", rows_changed, Stale.ENTITLEMENT),
    # ... and to one of their single-issue purchases (paid, refunded).
    Rule("billing.IssuePurchase", post_save, Stale.ENTITLEMENT),
    Rule("billing.IssuePurchase", post_delete, Stale.ENTITLEMENT),
    Rule("billing.IssuePurchase", rows_changed, Stale.ENTITLEMENT),
    # ... and to one of their organisation seats; an organisation's change
    # (or its subscription's) reaches all its seat holders.
    Rule("billing.OrganisationSeat", post_save, Stale.ENTITLEMENT),
    Rule("billing.OrganisationSeat", post_delete, Stale.ENTITLEMENT),
    Rule("billing.OrganisationSeat", rows_changed, Stale.ENTITLEMENT),
    Rule("billing.Organisation", post_save, Stale.SEAT_HOLDERS),
    Rule("billing.Organisation", post_delete, Stale.SEAT_HOLDERS),
    Rule("billing.Organisation", rows_changed, Stale.SEAT_HOLDERS),
    Rule("billing.Subscription", post_save, Stale.SEAT_HOLDERS, _of_organisation),
    # A member's details: a password, the staff flag, a deactivation.
    Rule(USER, post_save, Stale.MEMBER),
    Rule(USER, post_delete, Stale.MEMBER),
    Rule(USER, rows_changed, Stale.MEMBER),
    # A session that ends is forgotten by this process at once (others
    # within SERVING_PER_PROCESS_SECONDS).
    Rule(None, user_logged_out, Stale.SESSIONS),
)


# Making things stale ----------------------------------------------------------------------


def refresh_pages() -> None:
    pages_refreshed.send(sender=None)
    invalidate_pages()


def _member_ids(stale: Stale, kwargs: dict[str, Any]) -> set[Any]:
    """The members a send names: the `keys` of rows_changed (members, or a
    subscription's members), else the instance's."""
    if "keys" in kwargs:
        return set(kwargs["keys"])
    instance = kwargs["instance"]
    return {instance.pk if stale is Stale.MEMBER else instance.member_id}


def _seat_holder_ids(sender: Any, kwargs: dict[str, Any]) -> set[Any]:
    """The members holding seats of the organisations a send names: by
    their ids (`keys` or the instance), or by their subscription."""
    from masthead.billing.models import OrganisationSeat

    seats = OrganisationSeat.objects.filter(member__isnull=False)
    if _label(sender) == "billing.Subscription":
        seats = seats.filter(organisation__subscription_id=kwargs["instance"].pk)
    elif "keys" in kwargs:
        seats = seats.filter(organisation_id__in=kwargs["keys"])
    else:
        seats = seats.filter(organisation_id=kwargs["instance"].pk)
    return set(seats.values_list("member_id", flat=True))


def make_stale(stale: Stale, **kwargs: Any) -> None:
    if stale is Stale.PAGES:
        invalidate_pages()
    elif stale is Stale.PAGES_ON_COMMIT:
        transaction.on_commit(refresh_pages)
    elif stale is Stale.SESSIONS:
        members.forget_sessions()
    elif stale is Stale.SEAT_HOLDERS:
        ids = _seat_holder_ids(kwargs.get("sender"), kwargs)
        members.forget_entitlements(ids)
        transaction.on_commit(partial(members.forget_entitlements, ids))
    else:
        forget = members.forget_members if stale is Stale.MEMBER else members.forget_entitlements
        ids = _member_ids(stale, kwargs)
        forget(ids)
        transaction.on_commit(partial(forget, ids))


# Connecting the table -------------------------------------------------------------------


def _label(sender: Any) -> str | None:
    if isinstance(sender, type) and issubclass(sender, models.Model):
        concrete = sender._meta.concrete_model or sender
        return str(concrete._meta.label)
    return None


def _receiver(signal: Signal, rules: list[Rule]) -> Callable[..., None]:
    by_sender: dict[str | None, list[Rule]] = {}
    for rule in rules:
        by_sender.setdefault(rule.sender, []).append(rule)
    any_sender = by_sender.pop(None, [])

    def receive(sender: Any = None, **kwargs: Any) -> None:
        for rule in [*any_sender, *by_sender.get(_label(sender), ())]:
            if rule.when is None or rule.when(**kwargs):
                make_stale(rule.stale, sender=sender, **kwargs)

    return receive


def connect() -> None:
    """Connect one receiver per signal of the table (ServingConfig.ready)."""
    signals: dict[Signal, list[Rule]] = {}
    for rule in STALE_WHEN:
        signals.setdefault(rule.signal, []).append(rule)
    for signal, rules in signals.items():
        signal.connect(
            _receiver(signal, rules), weak=False, dispatch_uid=f"serving_stale_{id(signal)}"
        )
