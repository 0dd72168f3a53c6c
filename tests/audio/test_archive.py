"""The narrate_archive command: a pool of workers, a progress bar, resumable."""

import io

import pytest
from django.core.management import call_command

from masthead.audio.models import Narration, NarrationStatus
from masthead.newsroom.models import SectionPage
from tests.audio.conftest import TONE
from tests.factories import make_article, paragraph

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_narrates_the_archive_with_workers_and_resumes(site_tree, tone_engine):
    section = SectionPage.objects.get(slug="environment")
    articles = [
        make_article(image=False, section=
            section,
            title=f"Archive piece {n}",
            body=[paragraph(f"<p>Story {n} starts. It goes on for a while.</p>"),
                  paragraph("<p>A sentence every article shares.</p>")],
        )
        for n in range(4)
    ]  # fmt: skip
    out, err = io.StringIO(), io.StringIO()
    call_command("narrate_archive", workers=2, engine=TONE, stdout=out, stderr=err)
    assert "Narrated 4 article(s), skipped 0 up to date, 0 failed" in out.getvalue()
    assert "[" in err.getvalue() and "4/4 articles" in err.getvalue()  # the progress bar
    narrations = Narration.objects.filter(article__in=articles)
    assert {n.status for n in narrations} == {NarrationStatus.READY}
    for article, narration in zip(articles, narrations.order_by("article_id"), strict=True):
        assert narration.narrated_revision_id == article.live_revision_id
        assert narration.duration > 0 and narration.has_teaser
    # The shared sentence was synthesised once for all four articles.
    assert "sentences synthesised" in out.getvalue()
    shared = sum(n.synthesised_count for n in narrations)
    assert shared < sum(n.segment_count for n in narrations)

    # Run again: everything is up to date, nothing is narrated.
    out = io.StringIO()
    call_command("narrate_archive", workers=2, engine=TONE, stdout=out, stderr=io.StringIO())
    assert "Narrated 0 article(s), skipped 4 up to date" in out.getvalue()


@pytest.mark.django_db
def test_prune_keeps_what_narrations_use(site_tree, tone_engine):
    from datetime import timedelta

    from django.core.files.storage import storages
    from django.utils import timezone

    from masthead.audio.actions import narrate_revision
    from masthead.audio.models import Segment

    section = SectionPage.objects.get(slug="culture")
    article = make_article(image=False, section=section, body=[paragraph("<p>Kept. Old.</p>")])
    narrate_revision(article.pk, article.live_revision_id)
    orphan = Segment.objects.create(
        key="f" * 64, engine="tone:test-tone", text="Gone.", sample_rate=22050, samples=1,
        file=storages["private"].save("audio/segments/ff/orphan.pcm", io.BytesIO(b"\0\0")),
    )  # fmt: skip
    Segment.objects.update(last_used_at=timezone.now() - timedelta(days=40))
    out = io.StringIO()
    call_command("prune_narration_cache", days=30, stdout=out)
    assert not Segment.objects.filter(pk=orphan.pk).exists()
    assert not storages["private"].exists(orphan.file)
    assert Segment.objects.count() > 0  # the narration's sentences stay
    assert "Deleted 1 cached sentence(s)" in out.getvalue()
