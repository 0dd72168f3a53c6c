"""`{% ad_slot "article_inline" %}`: an ad for readers who see ads.

Renders nothing at all (not even an empty box) for subscribers, whom
`access.shows_ads` spares ads, and when no ad runs in the placement. The ads
of each placement are kept until the next publish or until one of them starts
or ends; pages that show them are kept no longer than that either.
"""

import random
import time

from django import template
from django.core.cache import cache
from django.template.loader import render_to_string

from masthead.access.rules import shows_ads
from masthead.serving.pagecache import current_generation
from masthead.serving.variants import valid_until

from ..models import AdSlot, Placement

register = template.Library()

ADS_TTL = 300


def _describe(slot):
    ad = {"id": slot.pk, "kind": slot.kind, "weight": slot.weight}
    if slot.kind == AdSlot.Kind.HOUSE:
        if slot.image is None:
            return None
        rendition = slot.image.get_rendition("max-800x800")
        ad.update(
            link=slot.link_url,
            alt=slot.alt_text,
            src=rendition.url,
            width=rendition.width,
            height=rendition.height,
        )
    else:
        ad["html"] = slot.html
    return ad


def running_ads(placement):
    """([ads as dicts], timestamp of the next start or end or None)."""
    key = f"ads:{current_generation()}:{placement}"
    kept = cache.get(key)
    if kept is not None and (kept[1] is None or kept[1] > time.time()):
        return kept
    slots = AdSlot.objects.showing(placement).select_related("image")
    ads = [ad for ad in (_describe(slot) for slot in slots) if ad is not None]
    change = AdSlot.objects.next_change(placement)
    boundary = change.timestamp() if change else None
    ttl = ADS_TTL if boundary is None else max(1, min(ADS_TTL, int(boundary - time.time())))
    cache.set(key, (ads, boundary), ttl)
    return ads, boundary


@register.simple_tag(takes_context=True)
def ad_slot(context, placement):
    if placement not in Placement.values:
        raise template.TemplateSyntaxError(f"Unknown ad placement {placement!r}.")
    request = context.get("request")
    if not shows_ads(getattr(request, "user", None)):
        return ""
    ads, boundary = running_ads(placement)
    if request is not None:
        valid_until(request, boundary)
    if not ads:
        return ""
    ad = random.choices(ads, weights=[ad["weight"] for ad in ads])[0]
    return render_to_string("ads/slot.html", {"ad": ad, "placement": placement})
