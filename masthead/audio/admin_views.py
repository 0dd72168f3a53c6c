"""Editors' views in the Wagtail admin: the narrations report, one article's
narration (status, errors, regenerate) and the lexicon's listen preview."""

import io
import wave

import numpy as np
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from masthead.newsroom.models import ArticlePage

from . import mastering
from .actions import MAX_ATTEMPTS, regenerate_narration, request_narration
from .engines import EngineUnavailable, get_engine
from .lexicon import Entry, Lexicon
from .models import Narration, NarrationStatus, Pronunciation
from .script import SENTENCE_PAUSE

SAMPLE_LIMIT = 300


class NarrationReportView(WagtailAdminTemplateMixin, TemplateView):
    """Every live article with its narration's status, duration and errors."""

    template_name = "audio/admin/narrations.html"
    page_title = "Narrations"
    header_icon = "media"
    per_page = 50

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        articles = ArticlePage.objects.live().order_by("-date").select_related("narration")
        status = self.request.GET.get("status", "")
        if status == "none":
            articles = articles.filter(narration__isnull=True)
        elif status in NarrationStatus.values:
            articles = articles.filter(narration__status=status)
        page = Paginator(articles, self.per_page).get_page(self.request.GET.get("p"))
        rows = []
        for article in page.object_list:
            narration = article.narration if _has_narration(article) else None
            rows.append({"article": article, "narration": narration})
        counts = dict.fromkeys(NarrationStatus.values, 0)
        for value in Narration.objects.filter(article__live=True).values_list("status", flat=True):
            counts[value] += 1
        context.update(
            rows=rows,
            page_obj=page,
            status=status,
            statuses=NarrationStatus.choices,
            counts=counts,
            max_attempts=MAX_ATTEMPTS,
        )
        return context


def _has_narration(article):
    try:
        return article.narration is not None
    except Narration.DoesNotExist:
        return False


class NarrationDetailView(WagtailAdminTemplateMixin, TemplateView):
    """One article's narration; POST regenerates it."""

    template_name = "audio/admin/narration.html"
    header_icon = "media"

    def dispatch(self, request, article_id):
        self.article = get_object_or_404(ArticlePage, pk=article_id)
        return super().dispatch(request)

    def get_page_title(self):
        return f"Narration: {self.article.title}"

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("audio_admin:narrations"), "label": "Narrations"},
            {"url": "", "label": self.article.title},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        narration = Narration.objects.filter(article=self.article).first()
        context.update(
            article=self.article,
            narration=narration,
            can_regenerate=self._can_regenerate(),
            max_attempts=MAX_ATTEMPTS,
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.article.pk]),
        )
        return context

    def _can_regenerate(self):
        return (
            self.article.live and self.article.permissions_for_user(self.request.user).can_publish()
        )

    def post(self, request):
        if not self._can_regenerate():
            raise PermissionDenied
        if request.POST.get("action") == "narrate":
            request_narration(self.article)
        else:
            regenerate_narration(self.article, user=request.user)
        messages.success(request, f"Narration of “{self.article.title}” queued.")
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
            # Only back to a page of this site; a malformed address is none.
            back = request.path
        return HttpResponseRedirect(back)


@require_safe
def listen(request):
    """A sample sentence read with a lexicon entry, as WAV: the editors' preview."""
    if not request.user.has_perm("audio.change_pronunciation") and not request.user.has_perm(
        "audio.add_pronunciation"
    ):
        raise PermissionDenied
    phrase = request.GET.get("phrase", "").strip()[:200]
    sample = (request.GET.get("sample", "").strip() or phrase)[:SAMPLE_LIMIT]
    if not sample:
        return HttpResponseBadRequest("Nothing to read.")
    try:
        engine = get_engine()
    except EngineUnavailable as error:
        return HttpResponse(str(error), status=503, content_type="text/plain")
    entries = [
        Entry(p.phrase, p.respelling, p.ipa, p.match_case)
        for p in Pronunciation.objects.exclude(phrase=phrase)
    ]
    if phrase:
        entries.append(
            Entry(
                phrase,
                request.GET.get("respelling", "").strip()[:200],
                request.GET.get("ipa", "").strip().strip("[]").strip()[:200],
                request.GET.get("match_case") in ("1", "true", "on"),
            )
        )
    sentences = Lexicon(entries, engine.supports_ipa).speakable(sample)
    pieces = []
    for sentence in sentences:
        if pieces:
            pieces.append(np.zeros(int(SENTENCE_PAUSE * engine.sample_rate), dtype=np.float32))
        pieces.append(engine.synthesize(sentence))
    audio = np.concatenate(pieces) if pieces else np.zeros(1, dtype=np.float32)
    audio = mastering.master(audio, engine.sample_rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(engine.sample_rate)
        wav.writeframes(np.clip(audio * 32767, -32768, 32767).astype("<i2").tobytes())
    response = HttpResponse(buffer.getvalue(), content_type="audio/wav")
    response["Cache-Control"] = "private, no-store"
    response["X-Spoken-Text"] = " ".join(sentences).encode("ascii", "replace").decode()[:500]
    return response
