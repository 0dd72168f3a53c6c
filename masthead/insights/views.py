"""The narration player's progress reports: started, past half, to the end.
Only a count per article and day is kept; no cookie is read or set."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from masthead.billing.models import Organisation

from . import counting, institutions

MARKS = {
    "started": "narration_started",
    "half": "narration_half",
    "end": "narration_end",
}


@csrf_exempt  # a count, sent by a beacon without the reader's session
@require_POST
def listening_progress(request, article_id, mark):
    kind = MARKS.get(mark)
    if kind is None:
        return HttpResponse("Unknown mark.", status=400, content_type="text/plain")
    counting.count(kind, article_id)
    response = HttpResponse(status=204)
    response["Cache-Control"] = "no-store"
    return response


@login_required
def organisation_usage_csv(request, organisation_id):
    """The monthly usage report of the organisation the reader manages."""
    if not Organisation.objects.filter(pk=organisation_id, manager=request.user).exists():
        raise Http404
    return institutions.usage_csv(organisation_id)
