"""Audio files, the podcast feeds and the member's feed address.

Every file goes through `access.decide`: the full narration only to readers
with access (403 otherwise), the teaser to anyone. Private feed enclosures
carry a signed token instead of a cookie, since podcast apps have none.
"""

from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from masthead.access.institutions import count_download
from masthead.access.rules import decide
from masthead.core.storage import serve_private_file
from masthead.newsroom.models import ArticlePage

from . import feeds
from .actions import rotate_podcast_token
from .models import Narration, PodcastFeedToken
from .pipeline import private_storage

ENCLOSURE_SALT = "masthead.audio.enclosure"


def _gone(message="This podcast feed address is no longer active."):
    response = HttpResponse(message, status=410, content_type="text/plain; charset=utf-8")
    response["X-Robots-Tag"] = "noindex"
    response["Cache-Control"] = "private, no-store"
    return response


def _live_narration(article_id):
    article = get_object_or_404(ArticlePage.objects.live(), pk=article_id)
    narration = Narration.objects.filter(article=article).first()
    if narration is None:
        raise Http404("This article has no narration yet.")
    narration.article = article
    return narration


@require_safe
def full_audio(request, article_id):
    """The whole narration, for readers with access to the article."""
    narration = _live_narration(article_id)
    if not narration.audio_file:
        raise Http404("The narration is not ready yet.")
    access = decide(request.user, narration)
    if not access:
        return HttpResponseForbidden("The full narration is for readers with access.")
    public = access.reason == "public"
    if request.method == "GET" and request.headers.get("Range", "bytes=0-") == "bytes=0-":
        # The player asks for the rest in ranges: one download per listen.
        count_download(access.reason)
    response = serve_private_file(
        request,
        private_storage(),
        narration.audio_file,
        content_type="audio/mpeg",
        cache_control="public, max-age=300" if public else "private, max-age=3600",
        filename=f"{narration.article.slug}.mp3",
    )
    if not public:
        response["Vary"] = "Cookie"
    return response


@require_safe
def issue_audio(request, issue_id):
    """An issue's audio episode (every article, one file), for readers the
    rule grants the issue: subscribers, and the buyers of that issue."""
    episode = feeds.issue_episode(issue_id)
    if episode is None:
        raise Http404("This issue has no audio episode yet.")
    access = decide(request.user, episode.issue)
    if not access:
        return HttpResponseForbidden("This issue's audio is for readers with access.")
    if request.method == "GET" and request.headers.get("Range", "bytes=0-") == "bytes=0-":
        count_download(access.reason)
    response = serve_private_file(
        request,
        private_storage(),
        episode.audio_file,
        content_type="audio/mpeg",
        cache_control="private, max-age=3600",
        filename=f"{episode.issue.slug}.mp3",
    )
    response["Vary"] = "Cookie"
    return response


@require_safe
def teaser_audio(request, article_id):
    """The narration of the teaser: anyone may hear it."""
    narration = _live_narration(article_id)
    if not narration.teaser_file:
        raise Http404("The teaser narration is not ready yet.")
    return serve_private_file(
        request,
        private_storage(),
        narration.teaser_file,
        content_type="audio/mpeg",
        cache_control="public, max-age=300",
        filename=f"{narration.article.slug}-opening.mp3",
    )


# --- Podcast feeds -------------------------------------------------------


@require_safe
def public_feed(request):
    return feeds.public_feed_response(request)


def _active_token(token):
    """(feed token row, None) or (None, error response)."""
    row = (
        PodcastFeedToken.objects.select_related("user")
        .filter(token_hash=PodcastFeedToken.hash(token))
        .first()
    )
    if row is None:
        raise Http404("No such podcast feed.")
    if not row.is_active or not row.user.is_active:
        return None, _gone()
    from masthead.billing.entitlements import current_entitlement

    if current_entitlement(row.user) is None:
        return None, _gone("This podcast feed ended with the subscription.")
    return row, None


@require_safe
def private_feed(request, token):
    row, error = _active_token(token)
    if error:
        return error
    PodcastFeedToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    # The access middleware's reader scope asks billing once for the whole feed.
    return feeds.private_feed_response(request, row)


def sign_enclosure(token_row, kind, pk):
    return signing.Signer(salt=ENCLOSURE_SALT).sign_object({"t": token_row.pk, kind: pk})


@require_safe
def enclosure(request, signed):
    """An episode's MP3 for a private feed: the signed token stands in for a login."""
    try:
        payload = signing.Signer(salt=ENCLOSURE_SALT).unsign_object(signed)
    except signing.BadSignature:
        raise Http404("No such episode.")
    row = PodcastFeedToken.objects.select_related("user").filter(pk=payload.get("t")).first()
    if row is None:
        raise Http404("No such episode.")
    if not row.is_active or not row.user.is_active:
        return _gone()
    from masthead.billing.entitlements import current_entitlement

    if current_entitlement(row.user) is None:
        return _gone("This podcast feed ended with the subscription.")
    if "a" in payload:
        narration = _live_narration(payload["a"])
        if not narration.audio_file:
            raise Http404("The narration is not ready yet.")
        if not decide(row.user, narration):
            return HttpResponseForbidden("This episode is for readers with access.")
        name = narration.audio_file
    elif "i" in payload:
        episode = feeds.issue_episode(payload["i"])
        if episode is None:
            raise Http404("No such episode.")
        if not decide(row.user, episode.issue):
            return HttpResponseForbidden("This episode is for subscribers.")
        name = episode.audio_file
    else:
        raise Http404("No such episode.")
    response = serve_private_file(
        request,
        private_storage(),
        name,
        content_type="audio/mpeg",
        cache_control="private, max-age=3600",
    )
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def episode_chapters(request, signed):
    """Podcasting 2.0 chapters (JSON) of an issue episode in a private feed."""
    try:
        payload = signing.Signer(salt=ENCLOSURE_SALT).unsign_object(signed)
    except signing.BadSignature:
        raise Http404("No such episode.")
    row = PodcastFeedToken.objects.filter(pk=payload.get("t"), revoked_at__isnull=True).first()
    episode = feeds.issue_episode(payload.get("i"))
    if row is None or episode is None:
        raise Http404("No such episode.")
    response = JsonResponse(
        {
            "version": "1.2.0",
            "chapters": [
                {"startTime": c["start"], "endTime": c["end"], "title": c["title"], "url": c["url"]}
                for c in episode.chapters
            ],
        },
        content_type="application/json+chapters",
    )
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_safe
def artwork(request):
    data = feeds.artwork_png(feeds.magazine(request).name)
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- The member's feed address -------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def podcast_feed(request):
    """GET: about the private feed. POST: a new address (the old one stops)."""
    new_url = None
    if request.method == "POST":
        token = rotate_podcast_token(request.user)
        new_url = feeds.absolute(request, feeds.private_feed_path(token))
    active = PodcastFeedToken.objects.filter(user=request.user, revoked_at__isnull=True).first()
    from masthead.billing.entitlements import current_entitlement

    public_url = feeds.absolute(request, feeds.public_feed_path())
    response = render(
        request,
        "audio/podcast_feed.html",
        {
            "feed_token": active,
            "new_feed_url": new_url,
            "new_feed_apps": feeds.podcast_app_links(new_url) if new_url else [],
            "has_subscription": current_entitlement(request.user) is not None,
            "public_feed_url": public_url,
            "public_feed_apps": feeds.podcast_app_links(public_url),
        },
    )
    response["Cache-Control"] = "private, no-store"
    return response
