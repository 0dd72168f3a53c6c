"""The gated download of an issue's editions."""

from django.http import Http404
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_safe

from masthead.access.institutions import count_download
from masthead.access.paywall import sign_in_url, subscribe_url
from masthead.access.rules import decide
from masthead.core.storage import serve_private_file
from masthead.issues.models import IssuePage

from .actions import edition_storage, record_download, schedule_edition_builds
from .models import Edition, EditionFormat


def _private(response):
    patch_cache_control(response, private=True)
    patch_vary_headers(response, ["Cookie"])
    return response


@require_safe
def download(request, issue_id, edition_format):
    if edition_format not in EditionFormat.values:
        raise Http404("No such edition format.")
    issue = get_object_or_404(IssuePage.objects.live(), pk=issue_id)
    access = decide(request.user, issue)
    if not access:
        context = {
            "issue": issue,
            "access": access,
            "sign_in_url": sign_in_url(request.get_full_path()),
            "subscribe_url": subscribe_url(),
        }
        return _private(render(request, "editions/denied.html", context, status=403))
    edition = (
        Edition.objects.filter(issue=issue, format=edition_format).exclude(file_name="").first()
    )
    storage = edition_storage()
    if edition is None or not storage.exists(edition.file_name):
        schedule_edition_builds(issue)
        response = render(request, "editions/preparing.html", {"issue": issue}, status=503)
        response["Retry-After"] = "60"
        return _private(response)
    if request.method == "GET" and request.user.is_authenticated:
        record_download(request.user, edition)
    if request.method == "GET":
        count_download(access.reason)
    # The file itself, or (from S3) a redirect to a short-lived signed URL;
    # private either way.
    return serve_private_file(
        request,
        storage,
        edition.file_name,
        content_type=edition.content_type,
        filename=edition.download_name(),
        as_attachment=True,
        cache_control="private, max-age=3600",
    )
