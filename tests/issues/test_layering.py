"""Issues stays below the apps that act on a published issue: they plug in
(publication steps, the site tree, the navigation) and issues never imports
them."""

import pytest

from masthead.editions.actions import build_published_issue_editions
from masthead.issues.actions import STEP_RUNNERS, publish_articles_and_issue
from masthead.issues.context_processors import navigation
from masthead.issues.models import IssueIndexPage, IssuePublicationStep
from masthead.mailings.actions import announce_issue
from masthead.newsroom.models import AccessLevel, SectionPage
from masthead.printing.actions import close_published_issue_print_run

pytestmark = pytest.mark.django_db

Name = IssuePublicationStep.Name


def test_each_step_of_publishing_is_carried_out_by_the_app_that_owns_it():
    assert {
        Name.ARTICLES: publish_articles_and_issue,
        Name.EDITIONS: build_published_issue_editions,
        Name.PRINT_RUN: close_published_issue_print_run,
        Name.NOTIFY: announce_issue,
    } == STEP_RUNNERS


def test_the_site_tree_gets_its_archive_from_issues(site_tree):
    [archive] = IssueIndexPage.objects.child_of(site_tree)
    assert (archive.title, archive.slug) == ("Archive", "issues")


def test_the_navigation_shows_a_new_section_once_it_is_published(
    site_tree, django_capture_on_commit_callbacks
):
    before = navigation()
    assert before["archive_url"] == "/issues/"
    with django_capture_on_commit_callbacks(execute=True):
        site_tree.add_child(
            instance=SectionPage(
                title="Science", slug="science", default_access_level=AccessLevel.PUBLIC
            )
        ).save_revision().publish()
    assert ("Science", "/science/") in navigation()["sections"]
    assert ("Science", "/science/") not in before["sections"]
