"""What editors see: the narrations report, an article's narration with its
regenerate button, the button on the edit view, and the lexicon's preview."""

import io
import wave

import pytest
from django.urls import reverse

from masthead.audio.actions import MAX_ATTEMPTS, narrate_revision
from masthead.audio.models import Narration, NarrationStatus, Pronunciation
from masthead.newsroom.models import SectionPage
from tests.factories import make_article, paragraph

pytestmark = pytest.mark.django_db


@pytest.fixture
def articles(site_tree, tone_engine):
    section = SectionPage.objects.get(slug="culture")
    ready = make_article(
        image=False, section=section, title="Ready one", body=[paragraph("<p>Fine.</p>")]
    )
    narrate_revision(ready.pk, ready.live_revision_id)
    broken = make_article(
        image=False, section=section, title="Broken one", body=[paragraph("<p>Oops.</p>")]
    )
    Narration.objects.create(
        article=broken,
        revision_id=broken.live_revision_id,
        status=NarrationStatus.FAILED,
        attempts=MAX_ATTEMPTS,
        error="RuntimeError: the voice model is corrupt",
    )
    never = make_article(
        image=False, section=section, title="Never narrated", body=[paragraph("<p>Hm.</p>")]
    )
    return {"ready": ready, "broken": broken, "never": never}


def test_report_lists_status_duration_and_errors(client, staff, articles):
    client.force_login(staff)
    response = client.get(reverse("audio_admin:narrations"))
    assert response.status_code == 200
    html = response.content.decode()
    for title in ("Ready one", "Broken one", "Never narrated"):
        assert title in html
    assert 'data-status="ready"' in html and 'data-status="failed"' in html
    assert "the voice model is corrupt" in html
    assert "Not narrated" in html
    failed_only = client.get(reverse("audio_admin:narrations"), {"status": "failed"})
    assert "Broken one" in failed_only.content.decode()
    assert "Ready one" not in failed_only.content.decode()


def test_report_is_in_the_reports_menu(client, staff, articles):
    client.force_login(staff)
    html = client.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse("audio_admin:narrations") in html


def test_detail_shows_the_error_and_regenerates(
    client, staff, articles, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("audio_admin:narration", args=[articles["broken"].pk])
    html = client.get(url).content.decode()
    assert "the voice model is corrupt" in html
    assert f"after {MAX_ATTEMPTS} attempts" in html
    assert "Regenerate narration" in html
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "regenerate"})
    assert response.status_code == 302
    narration = Narration.objects.get(article=articles["broken"])
    assert narration.status == NarrationStatus.READY and narration.error == ""
    assert narration.has_audio
    # The regeneration is in the article's history.
    history = client.get(reverse("wagtailadmin_pages:history", args=[articles["broken"].pk]))
    assert "Narration regeneration requested" in history.content.decode()


def test_narrate_button_for_an_article_never_narrated(
    client, staff, articles, django_capture_on_commit_callbacks
):
    client.force_login(staff)
    url = reverse("audio_admin:narration", args=[articles["never"].pk])
    assert "Narrate this article" in client.get(url).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "narrate"})
    assert Narration.objects.get(article=articles["never"]).status == NarrationStatus.READY


def test_regenerate_needs_publish_permission(client, member, articles, django_user_model):
    from django.contrib.auth.models import Permission

    member.is_staff = True
    member.save()
    member.user_permissions.add(Permission.objects.get(codename="access_admin"))
    client.force_login(member)
    url = reverse("audio_admin:narration", args=[articles["ready"].pk])
    before = Narration.objects.get(article=articles["ready"])
    response = client.post(url, {"action": "regenerate"})
    # Wagtail turns PermissionDenied into a redirect to the dashboard.
    assert response.status_code in (302, 403)
    assert response.get("Location") != url
    after = Narration.objects.get(article=articles["ready"])
    assert (after.status, after.requested_at) == (NarrationStatus.READY, before.requested_at)


def test_edit_view_has_a_narration_button(client, staff, articles):
    client.force_login(staff)
    html = client.get(reverse("wagtailadmin_pages:edit", args=[articles["ready"].pk])).content
    html = html.decode()
    assert "Narration: ready," in html
    assert reverse("audio_admin:narration", args=[articles["ready"].pk]) in html


def test_pronunciation_snippet_and_listen_preview(client, staff, tone_engine, site_tree):
    client.force_login(staff)
    add = client.get(reverse("wagtailsnippets_audio_pronunciation:add"))
    assert add.status_code == 200
    assert "data-listen-panel" in add.content.decode()
    response = client.post(
        reverse("wagtailsnippets_audio_pronunciation:add"),
        {"phrase": "Siobhan", "respelling": "Shiv-awn", "ipa": "", "sample": ""},
    )
    assert response.status_code == 302
    assert Pronunciation.objects.filter(phrase="Siobhan").exists()
    invalid = client.post(reverse("wagtailsnippets_audio_pronunciation:add"), {"phrase": "Empty"})
    assert invalid.status_code == 200 and not Pronunciation.objects.filter(phrase="Empty")

    tone_engine.clear()
    listen = client.get(
        reverse("audio_admin:listen"),
        {"phrase": "Nguyen", "ipa": "wˈɪn", "sample": "Dr. Nguyen met Siobhan."},
    )
    assert listen.status_code == 200
    assert listen["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(listen.content)) as wav:
        assert wav.getnchannels() == 1 and wav.getnframes() > 0
    assert tone_engine == ["Doctor [[ wˈɪn ]] met Shiv-awn."]


def test_listen_preview_is_for_editors(client, member, site_tree):
    client.force_login(member)
    response = client.get(reverse("audio_admin:listen"), {"phrase": "x"})
    assert response.status_code in (302, 403)


@pytest.mark.parametrize(
    "next_url, location",
    [
        ("/admin/pages/", "/admin/pages/"),
        ("http://[::1", None),
        ("https://elsewhere.example/", None),
        ("-1", "-1"),
    ],
)
def test_regenerate_goes_back_only_to_a_page_of_this_site(
    client, staff, articles, django_capture_on_commit_callbacks, next_url, location
):
    client.force_login(staff)
    url = reverse("audio_admin:narration", args=[articles["never"].pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "narrate", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == (location or url)
