"""The narration player's progress reports: started, past half, to the end.
Only a count per article and day is kept; no cookie is read or set."""

from django.http import HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import counting

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
