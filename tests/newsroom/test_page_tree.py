import pytest
from wagtail.models import Page

from masthead.issues.models import IssueIndexPage, IssuePage
from masthead.newsroom.models import ArticlePage, HomePage, SectionPage

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "parent, child, allowed",
    [
        (Page, HomePage, True),
        (HomePage, SectionPage, True),
        (HomePage, IssueIndexPage, True),
        (HomePage, ArticlePage, False),
        (SectionPage, ArticlePage, True),
        (SectionPage, SectionPage, False),
        (ArticlePage, ArticlePage, False),
        (IssueIndexPage, IssuePage, True),
        (IssueIndexPage, ArticlePage, False),
        (IssuePage, ArticlePage, False),
        (SectionPage, IssuePage, False),
    ],
)
def test_page_tree_rules(parent, child, allowed):
    assert (child in parent.allowed_subpage_models()) is allowed
    assert (parent in child.allowed_parent_page_models()) is allowed


def test_only_one_home_and_one_archive(site_tree):
    assert not HomePage.can_create_at(Page.get_first_root_node())
    assert not IssueIndexPage.can_create_at(site_tree)


def test_site_tree_has_the_six_sections_in_order(site_tree):
    titles = [s.title for s in SectionPage.objects.child_of(site_tree).order_by("path")]
    assert titles == [
        "Politics",
        "Finance",
        "Foreign Affairs",
        "Environment",
        "Culture",
        "Technology",
    ]


def test_ensure_site_tree_is_idempotent(site_tree):
    from masthead.newsroom.site_tree import ensure_site_tree

    ensure_site_tree()
    assert HomePage.objects.count() == 1
    assert SectionPage.objects.count() == 6
    assert IssueIndexPage.objects.count() == 1
