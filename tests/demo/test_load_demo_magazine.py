"""`manage.py load_demo_magazine` on the small fixture set in demo_fixture/."""

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from wagtail.admin.rich_text.converters.contentstate import ContentstateConverter
from wagtail.models import Site
from wagtail.search.backends import get_search_backend

from masthead.core.models import MagazineSettings
from masthead.issues.models import IssuePage
from masthead.newsroom.blocks import RICH_TEXT_FEATURES
from masthead.newsroom.models import ArticlePage, Author, CreditedImage, HomePage, SectionPage
from tests.factories import make_article

pytestmark = pytest.mark.django_db

FIXTURE = Path(__file__).parent / "demo_fixture"


@pytest.fixture(autouse=True)
def _tasks_recorded_not_run(settings):
    """Other apps' publish tasks (narration, editions) are queued, not run, here."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


def load(*args, articles_dir=FIXTURE):
    out, err = io.StringIO(), io.StringIO()
    call_command("load_demo_magazine", *args, articles_dir=articles_dir, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def at(day, hour=9):
    return datetime(*day, hour, 0, tzinfo=UTC)


def test_loads_articles_issues_authors_and_images():
    out, err = load()
    assert "3 articles, 2 issues, 7 authors, 13 images" in out
    assert "harbour-vote.txt: " in err and "words of body" in err  # fixtures are short

    # Site, settings, tagline.
    home = HomePage.objects.get()
    site = Site.objects.get(is_default_site=True)
    assert site.root_page_id == home.pk and site.site_name == "The Meridian Review"
    magazine = MagazineSettings.for_site(site)
    assert (magazine.name, magazine.publisher) == ("The Meridian Review", "Meridian Press")
    assert home.tagline and home.live

    # Authors, each with a bio and a generated portrait.
    authors = {author.slug: author for author in Author.objects.select_related("photo")}
    assert len(authors) == 7
    assert authors["jose-alvarez"].name == "José Álvarez"
    for author in authors.values():
        assert author.bio and author.job_title
        assert (author.photo.width, author.photo.height) == (600, 600)
        assert author.photo.credit

    # Articles: published under their sections with bylines, levels and tags.
    vote = ArticlePage.objects.get(slug="harbour-vote")
    desk = ArticlePage.objects.get(slug="bond-desk")
    accord = ArticlePage.objects.get(slug="border-rail-bridges")
    assert all(page.live and page.live_revision_id for page in (vote, desk, accord))
    assert not any(page.has_unpublished_changes for page in (vote, desk, accord))
    assert (vote.section.slug, desk.section.slug, accord.section.slug) == (
        "politics",
        "finance",
        "environment",
    )
    assert vote.title == "A Harbour Vote Splits the Council"
    assert vote.dek.startswith("A plan to dredge")
    assert [a.name for a in vote.authors] == ["Ana Peña", "José Álvarez"]
    assert [a.slug for a in desk.authors] == ["margaret-okafor"]
    assert (vote.access_level, desk.access_level, accord.access_level) == (
        "public",
        "subscribers",
        "members",
    )
    assert sorted(desk.tags.names()) == ["banks", "bonds"]

    # Dates are the articles' own, at 09:00 UTC; a correction comes two days later.
    assert vote.date == vote.first_published_at == vote.last_published_at == at((2026, 10, 13))
    assert desk.date == at((2026, 10, 12))
    assert accord.correction.startswith("An earlier version")
    assert accord.first_published_at == at((2026, 11, 14))
    assert accord.corrected_at == accord.last_published_at == at((2026, 11, 16), 15)
    assert vote.corrected_at is None

    # Lead image: the description is the alt text, with caption and credit.
    lead = vote.lead_image
    assert lead.title == "A harbour at dawn with fishing boats and a row of cranes"
    assert lead.caption == "Fishing boats share the inner harbour with container traffic."
    assert lead.credit == "Illustration by Ines Varga"
    assert (lead.width, lead.height) == (1600, 900)
    assert vote.caption == lead.caption

    # Body blocks.
    assert [block.block_type for block in vote.body] == [
        "paragraph",
        "heading",
        "paragraph",
        "block_quote",
        "pull_quote",
        "figure",
        "paragraph",
    ]
    first, _, bullets, quote, pull, figure, last = vote.body
    assert first.value.source == (
        '<p>The council met at 7 p.m., and by 9 the <a href="https://example.org/council/'
        'agenda?item=4&amp;year=2026">public gallery</a> was full. Members of the '
        "<i>Harbour Users' Association</i> came in work boots.</p>"
    )
    assert bullets.value.source == (
        "<ul><li>Deepen the channel to 14 meters</li><li>Move the fish market to "
        "<b>Pier 6</b></li></ul>"
    )
    assert dict(quote.value) == {
        "text": "We have fished here for four generations.",
        "attribution": "Tomás Peña, harbour pilot",
    }
    assert pull.value["text"] == "The harbour is not a car park for ships."
    assert figure.value["caption"] == "Arrivals at the port, 2016–2026."
    assert figure.value["credit"] == "Meridian Review / Data desk"
    in_body = figure.value["image"]
    assert in_body.title == "A chart of ship arrivals by year"
    assert (in_body.caption, in_body.credit) == (figure.value["caption"], figure.value["credit"])
    assert (in_body.width, in_body.height) == (1200, 800)
    assert "a &lt;script&gt; tag won't hide &amp; nobody denies" in last.value.source
    assert [block.block_type for block in desk.body] == ["paragraph", "teaser_break", "paragraph"]

    # Editors can open the rich text in Draftail.
    converter = ContentstateConverter(RICH_TEXT_FEATURES)
    assert "Pier 6" in converter.from_database_format(bullets.value.source)
    assert "example.org/council" in converter.from_database_format(first.value.source)

    # Issues: 20 (lead story's headline as title) and 22 (the catalogue's cover title).
    assert not IssuePage.objects.filter(number=21).exists()  # no fixture article
    no20 = IssuePage.objects.get(volume=12, number=20)
    assert no20.live and no20.cover_date == date(2026, 10, 15)
    assert no20.title == "The Bond Desk Goes Quiet"  # 20-01 is its lead story
    # Contents follow the section order: politics before finance.
    assert [a.slug for a in no20.live_articles()] == ["harbour-vote", "bond-desk"]
    assert no20.cover_line_list == ["A Harbour Vote Splits the Council"]
    assert (no20.cover_image.width, no20.cover_image.height) == (1200, 1600)
    assert no20.cover_image.credit and "Vol. 12, No. 20" in no20.cover_image.title
    assert no20.first_published_at == no20.last_published_at == at((2026, 10, 15))
    no22 = IssuePage.objects.get(volume=12, number=22)
    assert no22.live and no22.title == "The Border Bargain"
    assert [a.slug for a in no22.live_articles()] == ["border-rail-bridges"]
    assert accord.issue == no22

    # The next issue is a draft with no articles.
    no23 = IssuePage.objects.get(volume=12, number=23)
    assert not no23.live and no23.latest_revision_id and no23.has_unpublished_changes
    assert no23.cover_date == date(2026, 12, 1) and not no23.contents.exists()

    assert CreditedImage.objects.filter(collection__name="Demo magazine").count() == 13


def test_demo_is_searchable_and_renders(client):
    from django_tasks import default_task_backend

    load()
    # The loader indexes once at the end instead of queueing a task per save.
    queued = {result.task.name for result in default_task_backend.results}
    assert not queued & {"insert_or_update_object_task", "update_reference_index_task"}
    assert [page.slug for page in ArticlePage.objects.live().search("dredge")] == ["harbour-vote"]
    authors = get_search_backend().search("Okafor", Author)
    assert [author.slug for author in authors] == ["margaret-okafor"]

    vote = ArticlePage.objects.get(slug="harbour-vote")
    html = client.get(vote.url).content.decode()
    assert "Arrivals at the port, 2016–2026." in html
    assert "We have fished here for four generations." in html
    assert 'href="https://example.org/council/agenda?item=4&amp;year=2026"' in html
    issue = IssuePage.objects.get(number=22)
    assert "The River Accord Nobody Expected" in client.get(issue.url).content.decode()
    assert client.get("/").status_code == 200


def test_if_empty_refuse_and_reset():
    out, _ = load("--if-empty")  # an empty database: it loads
    assert "Loaded the demo magazine" in out
    counts = (
        ArticlePage.objects.count(),
        IssuePage.objects.count(),
        Author.objects.count(),
        CreditedImage.objects.count(),
    )

    out, _ = load("--if-empty")
    assert "already has articles" in out and "Loaded" not in out

    with pytest.raises(CommandError, match="--reset"):
        load()

    old_vote = ArticlePage.objects.get(slug="harbour-vote").pk
    # An editor's own article (own author, no picture) survives the reset.
    own = make_article(SectionPage.objects.get(slug="culture"), title="Ours", image=False)
    out, _ = load("--reset")
    assert ArticlePage.objects.filter(pk=own.pk, live=True).exists()
    writer = own.authors[0]
    own.delete()
    writer.delete()
    assert "3 articles, 2 issues, 7 authors, 13 images" in out
    assert counts == (
        ArticlePage.objects.count(),
        IssuePage.objects.count(),
        Author.objects.count(),
        CreditedImage.objects.count(),
    )
    assert ArticlePage.objects.get(slug="harbour-vote").pk != old_vote


def test_a_broken_file_names_itself_and_loads_nothing(tmp_path):
    for path in FIXTURE.glob("*.txt"):
        (tmp_path / path.name).write_text(path.read_text())
    broken = tmp_path / "20-03-broken.txt"
    broken.write_text((FIXTURE / "20-01-bond-desk.txt").read_text().replace("finance", "sport"))
    with pytest.raises(CommandError, match=r"20-03-broken\.txt:3: unknown section 'sport'"):
        load(articles_dir=tmp_path)
    assert not ArticlePage.objects.exists() and not Author.objects.exists()
    with pytest.raises(CommandError, match="No article files"):
        load(articles_dir=tmp_path / "empty")


def test_loading_queues_each_published_issue_s_editions(django_capture_on_commit_callbacks):
    from django_tasks import default_task_backend

    from masthead.editions.actions import BUILD_PRIORITY

    with django_capture_on_commit_callbacks(execute=True):
        load()
    builds = [
        result
        for result in default_task_backend.results
        if result.task.name == "build_issue_editions"
    ]
    queued = [result.args for result in builds]
    published = IssuePage.objects.live().filter(volume=12).order_by("number")
    assert sorted(queued) == [[issue.pk] for issue in published]
    # Ahead of the articles' narrations in the one worker `make run` starts.
    assert {result.task.priority for result in builds} == {BUILD_PRIORITY}
    draft = IssuePage.objects.get(number=23)
    assert [draft.pk] not in queued


@pytest.mark.slow
def test_the_published_issues_editions_are_built_and_linked(
    settings, client, django_capture_on_commit_callbacks
):
    from django.contrib.auth import get_user_model
    from django.core.files.storage import storages

    from masthead.editions.models import Edition, EditionFormat

    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        load()

    editor = get_user_model().objects.create_superuser(email="editor@example.org", password="x")
    client.force_login(editor)
    published = IssuePage.objects.live().filter(volume=12).order_by("number")
    assert [issue.number for issue in published] == [20, 22]
    for issue in published:
        editions = {edition.format: edition for edition in Edition.objects.filter(issue=issue)}
        assert sorted(editions) == sorted(EditionFormat.values)
        html = client.get(issue.url).content.decode()
        assert "being prepared" not in html
        for edition_format, edition in editions.items():
            assert edition.status == Edition.Status.READY, edition.error
            assert storages["private"].exists(edition.file_name) and edition.size > 0
            url = reverse("editions:download", args=[issue.pk, edition_format])
            assert f'href="{url}"' in html
            response = client.get(url)
            assert response.status_code == 200
            assert response["Content-Type"] == edition.content_type
    assert not Edition.objects.filter(issue__number=23).exists()
