"""Every stored file of the demo magazine, fetched at its /media/ address by
an anonymous visitor: none that shows gated material is served.

Which pictures are gated is read from the demo's article files themselves,
by the rule the paywall states to editors: in an article that is not
public, what follows the teaser break, or the first two paragraphs when
there is none, is for readers with access.
"""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import Client

from masthead.demo.loader import DEFAULT_ARTICLES_DIR
from masthead.editions.content import gather
from masthead.issues.models import IssuePage
from masthead.newsroom.models import ArticlePage, CreditedImage, HomePage
from tests.access.support import ensure_plans, make_reader

pytestmark = pytest.mark.django_db

TEASER_PARAGRAPHS = 2


def gated_figures(articles_dir):
    """The file-name stems of the demo's figures in a gated part."""
    stems = set()
    for path in sorted(Path(articles_dir).glob("*.txt")):
        header, body = path.read_text(encoding="utf-8").split("\n---\n", 1)
        access = re.search(r"^access:\s*(\S+)", header, re.MULTILINE).group(1)
        if access == "public":
            continue
        slug = re.sub(r"^\d+-\d+-", "", path.stem)
        chunks = [chunk.strip() for chunk in re.split(r"\n\s*\n", body) if chunk.strip()]
        has_break = any(chunk == "[teaser-break]" for chunk in chunks)
        gated, paragraphs, figure = False, 0, 0
        for chunk in chunks:
            for line in chunk.splitlines() if chunk.startswith("[") else [chunk]:
                if line == "[teaser-break]":
                    gated = True
                elif line.startswith("[figure:"):
                    figure += 1
                    if gated:
                        stems.add(f"demo-{slug}-figure-{figure}")
                elif not line.startswith(("#", ">")):
                    paragraphs += 1  # a paragraph or a list
                    if not has_break and paragraphs == TEASER_PARAGRAPHS:
                        gated = True
    return stems


def stored_public_files():
    root = Path(settings.MEDIA_ROOT)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


@pytest.fixture
def demo(settings, django_capture_on_commit_callbacks):
    """The whole demo, committed as the command commits it, with the
    renditions its pages, its editions and the admin make."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    with django_capture_on_commit_callbacks(execute=True):
        call_command("load_demo_magazine", verbosity=0)
    subscriber = Client()
    subscriber.force_login(make_reader("active", SimpleNamespace(plans=ensure_plans())))
    pages = [HomePage.objects.get(), *ArticlePage.objects.live()]
    for page in pages:
        for client in (Client(), subscriber):
            assert client.get(page.url).status_code == 200
    for client in (Client(), subscriber):
        client.get("/api/articles/")
    for issue in IssuePage.objects.live():
        gather(issue).load_pictures()
        Client().get(issue.url)
    for image in CreditedImage.objects.all():
        image.get_rendition("max-165x165")  # the admin's thumbnail
    return subscriber


def test_no_stored_file_of_the_demo_shows_gated_material_to_anyone(demo):
    stems = gated_figures(DEFAULT_ARTICLES_DIR)
    assert "demo-ecb-rate-cut-savers-figure-1" in stems

    def is_gated(name):
        return any(Path(name).name.startswith((f"{stem}.", f"{stem}_")) for stem in stems)

    files = stored_public_files()
    assert len(files) > 100  # originals and renditions of every picture
    anonymous = Client()
    served = {name: anonymous.get(f"/media/{name}").status_code for name in files}
    assert [name for name in files if is_gated(name)] == []
    assert set(served.values()) == {200}
    for guess in (
        "original_images/demo-ecb-rate-cut-savers-figure-1.jpg",
        "images/demo-ecb-rate-cut-savers-figure-1.width-900.jpg",
    ):
        assert anonymous.get(f"/media/{guess}").status_code == 404

    # The gated pictures, and every rendition of them, answer only through
    # the view that asks the rule.
    gated = [image for image in CreditedImage.objects.all() if is_gated(image.file.name)]
    assert {Path(image.file.name).stem for image in gated} == stems
    for image in gated:
        for url in [image.file.url, *(r.url for r in image.renditions.all())]:
            assert url.startswith("/gated-images/files/gated/")
            assert anonymous.get(url).status_code == 403
            assert demo.get(url).status_code == 200
