import socket
import subprocess
import zipfile
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.utils import timezone

from masthead.editions import actions
from masthead.editions.content import clean_rich_text, gather
from masthead.editions.models import Edition, EditionFormat
from tests.issues.support import pdf_text, run_epubcheck

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def built_file(issue, edition_format, tmp_path):
    edition = Edition.objects.get(issue=issue, format=edition_format)
    data = storages["private"].open(edition.file_name).read()
    path = tmp_path / f"edition-{edition_format}.{edition.extension}"
    path.write_bytes(data)
    return edition, path


def test_epub_passes_epubcheck_and_holds_every_article(rich_issue, tmp_path):
    issue = rich_issue["issue"]
    actions.build_editions(issue, formats=[EditionFormat.EPUB])
    edition, path = built_file(issue, EditionFormat.EPUB, tmp_path)

    code, report = run_epubcheck(path)
    assert code == 0, report
    assert "ERROR" not in report and "FATAL" not in report, report

    with zipfile.ZipFile(path) as epub:
        names = epub.namelist()
        assert names[0] == "mimetype"
        chapters = {
            name: epub.read(name).decode() for name in names if name.startswith("EPUB/articles/")
        }
        nav = epub.read("EPUB/nav.xhtml").decode()
        masthead = epub.read("EPUB/masthead.xhtml").decode()
        opf = epub.read("EPUB/content.opf").decode()
    assert len(chapters) == 3
    text = "".join(chapters.values())
    for article in rich_issue["articles"]:
        assert article.title.replace("&", "&amp;") in text
        assert article.title.replace("&", "&amp;") in nav
    assert "By Ana Peña and José Ortiz" in text
    assert "By Lee Chang, Ana Peña and José Ortiz" in text
    assert "<blockquote" in text and "A line quoted<br/>over two lines" in text
    assert 'class="pull-quote"' in text and "The pull quote of story 1" in text
    assert "Caption of figure 1" in text and "Agency 1" in text
    assert "A caption chosen in the body" in text and "Own Credit" in text
    assert "Second paragraph, before the teaser break." in text
    assert "<strong>bold</strong>" in text and "<em>italic</em>" in text
    assert 'href="https://example.org/a%20b?x=1&amp;y=2"' in text
    assert f'href="http://127.0.0.1:8000{rich_issue["articles"][0].url}"' in text
    assert "The Meridian Review" in masthead and "Vol. 12, No. 7" in masthead
    assert "June 1, 2026" in masthead and "Meridian Press" in masthead
    assert 'properties="cover-image"' in opf
    assert "Politics" in nav and "Finance" in nav


def test_pdf_has_every_headline_and_byline_in_both_page_sizes(rich_issue, tmp_path):
    issue = rich_issue["issue"]
    actions.build_editions(issue, formats=[EditionFormat.PDF_A4, EditionFormat.PDF_LETTER])
    for edition_format, size in (
        (EditionFormat.PDF_A4, "595.276 x 841.89"),
        (EditionFormat.PDF_LETTER, "612 x 792"),
    ):
        edition, path = built_file(issue, edition_format, tmp_path)
        text = pdf_text(path)
        for story in gather(issue).stories:
            assert story.headline in text
            assert story.byline in text
        assert "Contents" in text and "Caption of figure 1" in text and "AGENCY 1" in text.upper()
        import subprocess

        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True).stdout
        assert size in info, info


def test_builds_are_cached_by_content_and_swapped_in_under_a_new_name(rich_issue, monkeypatch):
    issue = rich_issue["issue"]
    renders = []
    original = actions.RENDERERS[EditionFormat.EPUB]
    monkeypatch.setitem(
        actions.RENDERERS,
        EditionFormat.EPUB,
        lambda content: renders.append(1) or original(content),
    )
    assert actions.build_editions(issue, formats=["epub"]) == {"epub": "built"}
    first = Edition.objects.get(issue=issue, format="epub")
    assert actions.build_editions(issue, formats=["epub"]) == {"epub": "current"}
    assert len(renders) == 1

    article = rich_issue["articles"][1]
    article.title = "The bond market blinks twice"
    article.save_revision().publish()
    issue.refresh_from_db()
    assert actions.build_editions(issue, formats=["epub"]) == {"epub": "built"}
    second = Edition.objects.get(issue=issue, format="epub")
    assert len(renders) == 2
    assert second.file_name != first.file_name and second.content_hash != first.content_hash
    storage = storages["private"]
    assert storage.exists(second.file_name) and not storage.exists(first.file_name)


def test_a_failed_build_keeps_the_previous_file(rich_issue, monkeypatch):
    issue = rich_issue["issue"]
    actions.build_editions(issue, formats=["epub"])
    before = Edition.objects.get(issue=issue, format="epub")

    def broken(content):
        raise RuntimeError("disk full")

    monkeypatch.setitem(actions.RENDERERS, EditionFormat.EPUB, broken)
    issue.cover_lines = "A new cover line"
    issue.save_revision().publish()
    issue.refresh_from_db()
    with pytest.raises(actions.EditionBuildError, match="disk full"):
        actions.build_editions(issue, formats=["epub"])
    after = Edition.objects.get(issue=issue, format="epub")
    assert after.status == Edition.Status.FAILED and "disk full" in after.error
    assert after.file_name == before.file_name
    assert storages["private"].exists(after.file_name)


def test_rich_text_is_cleaned_to_xhtml():
    html = (
        '<p>Hi <b>there</b><br>friend <span style="x">inside</span>'
        '<a href="javascript:alert(1)">bad</a> <a href="/relative/">ok</a>'
        "<script>alert(1)</script></p>"
    )
    cleaned = clean_rich_text(html, "https://mag.example")
    assert cleaned == (
        "<p>Hi <strong>there</strong><br/>friend inside<a>bad</a> "
        '<a href="https://mag.example/relative/">ok</a></p>'
    )


def test_publishing_in_the_admin_rebuilds_the_issues_editions(
    rich_issue, django_capture_on_commit_callbacks, monkeypatch
):
    from masthead.editions.wagtail_hooks import rebuild_editions_after_publish

    built = []
    monkeypatch.setattr(
        "masthead.editions.actions.build_editions", lambda issue, formats=None: built.append(issue)
    )
    with django_capture_on_commit_callbacks(execute=True):
        rebuild_editions_after_publish(None, rich_issue["articles"][0])
        rebuild_editions_after_publish(None, rich_issue["issue"])
        rebuild_editions_after_publish(None, rich_issue["issue"].get_parent())
    assert [issue.pk for issue in built] == [rich_issue["issue"].pk] * 2


def _claimed_by(issue, owner):
    """The EPUB's build, claimed just now by `owner` for the current content."""
    content_hash = gather(issue).content_hash()
    Edition.objects.update_or_create(
        issue=issue,
        format="epub",
        defaults={
            "status": Edition.Status.BUILDING,
            "building_hash": content_hash,
            "build_started_at": timezone.now(),
            "build_owner": owner,
        },
    )


def test_a_build_claimed_by_a_live_worker_is_left_to_it(rich_issue):
    issue = rich_issue["issue"]
    alive = subprocess.Popen(["sleep", "30"])
    try:
        _claimed_by(issue, f"{socket.gethostname()}:{alive.pid}")
        with pytest.raises(actions.EditionBuildError, match="being built by another worker"):
            actions.build_editions(issue, formats=["epub"])
        # Another host's claim is trusted until it is STALE_BUILD old.
        _claimed_by(issue, "another-host:1")
        with pytest.raises(actions.EditionBuildError, match="being built by another worker"):
            actions.build_editions(issue, formats=["epub"])
    finally:
        alive.kill()
        alive.wait()


def test_a_build_whose_worker_was_killed_is_taken_over_at_once(rich_issue):
    issue = rich_issue["issue"]
    killed = subprocess.Popen(["sleep", "30"])
    killed.kill()
    killed.wait()
    _claimed_by(issue, f"{socket.gethostname()}:{killed.pid}")
    assert actions.build_editions(issue, formats=["epub"]) == {"epub": "built"}
    edition = Edition.objects.get(issue=issue, format="epub")
    assert edition.status == Edition.Status.READY
    assert edition.build_owner == actions.build_owner()
    # The file went in whole: no temporary part is left beside it.
    folder = Path(storages["private"].path(edition.file_name)).parent
    assert [p.name for p in folder.iterdir() if p.name.endswith(".part")] == []
