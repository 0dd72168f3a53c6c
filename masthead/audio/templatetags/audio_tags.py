"""`{% narration_player page %}`: the article page's audio player.

Access is decided here, with `access.decide`: readers with access get the
full narration's URL and timings, everyone else the teaser's. The full URL
never reaches a page rendered for a reader without access.
"""

from django import template
from django.urls import reverse

from masthead.access.rules import decide

from ..feeds import duration_text, issue_episode
from ..models import Narration

register = template.Library()


@register.inclusion_tag("audio/includes/player.html", takes_context=True)
def narration_player(context, page):
    request = context.get("request")
    user = getattr(request, "user", None)
    narration = Narration.objects.filter(article_id=page.pk).first()
    if narration is None or not narration.has_audio:
        return {"narration": None}
    narration.article = page
    if decide(user, narration):
        url = reverse("audio:full", args=[page.pk])
        duration, timings, teaser = narration.duration, narration.timings, False
    elif narration.has_teaser:
        url = reverse("audio:teaser", args=[page.pk])
        duration, timings, teaser = narration.teaser_duration, narration.teaser_timings, True
    else:
        return {"narration": None}
    return {
        "narration": narration,
        "article": page,
        "audio_url": url,
        "duration": duration,
        "duration_text": duration_text(duration),
        "paragraph_timings": (timings or {}).get("paragraphs", []),
        "teaser": teaser,
        "timings_id": f"narration-timings-{page.pk}",
    }


@register.inclusion_tag("audio/includes/issue_player.html", takes_context=True)
def issue_player(context, issue):
    """The issue page's player for its audio episode: only for readers the
    rule grants the issue; no one else gets its URL."""
    request = context.get("request")
    episode = issue_episode(issue.pk) if issue is not None else None
    if episode is None or not decide(getattr(request, "user", None), issue):
        return {"episode": None}
    return {
        "episode": episode,
        "audio_url": reverse("audio:issue", args=[issue.pk]),
        "duration_text": duration_text(episode.duration),
    }


@register.filter
def clock(seconds):
    """Seconds as m:ss (or h:mm:ss)."""
    return duration_text(seconds or 0)


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "")
