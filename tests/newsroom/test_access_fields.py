"""Editors choose who may read an article, down to particular plans."""

import json

import pytest

from masthead.access.rules import decide
from masthead.billing.models import Plan, Subscription
from masthead.newsroom.models import ArticlePage, SectionPage

pytestmark = pytest.mark.django_db


def test_editors_restrict_an_article_to_chosen_plans(client, magazine, django_user_model):
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    print_plan = Plan.objects.get(code="digital-print")
    editor = django_user_model.objects.create_superuser("editor@example.com", "a-long-password")
    client.force_login(editor)
    section = magazine["sections"]["finance"]
    url = f"/admin/pages/add/newsroom/articlepage/{section.pk}/"
    page = client.get(url).content.decode()
    assert 'name="required_plans"' in page and "Subscribers to chosen plans" in page
    paragraph = {
        "blocks": [
            {
                "key": "a",
                "text": "Line.",
                "type": "unstyled",
                "depth": 0,
                "inlineStyleRanges": [],
                "entityRanges": [],
            }
        ],
        "entityMap": {},
    }
    data = {
        "title": "For print readers",
        "slug": "for-print-readers",
        "dek": "Only for Digital + Print.",
        "body-count": "1",
        "body-0-type": "paragraph",
        "body-0-value": json.dumps(paragraph),
        "body-0-deleted": "",
        "body-0-order": "0",
        "body-0-id": "",
        "bylines-TOTAL_FORMS": "1",
        "bylines-INITIAL_FORMS": "0",
        "bylines-MIN_NUM_FORMS": "1",
        "bylines-MAX_NUM_FORMS": "1000",
        "bylines-0-author": str(magazine["authors"][0].pk),
        "bylines-0-ORDER": "1",
        "bylines-0-id": "",
        "bylines-0-DELETE": "",
        "tags": "",
        "correction": "",
        "date": "2026-11-20 09:00",
        "access_level": "plans",
        "required_plans": [str(print_plan.pk)],
        "seo_title": "",
        "search_description": "",
        "go_live_at": "",
        "expire_at": "",
        "comments-TOTAL_FORMS": "0",
        "comments-INITIAL_FORMS": "0",
        "comments-MIN_NUM_FORMS": "0",
        "comments-MAX_NUM_FORMS": "1000",
        "action-publish": "action-publish",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    article = ArticlePage.objects.get(slug="for-print-readers")
    assert article.live and list(article.required_plans.all()) == [print_plan]
    assert article.effective_access_level == "plans"

    reader = django_user_model.objects.create_user("reader@example.com")
    Subscription.objects.create(
        member=reader, plan=Plan.objects.get(code="digital"), status="complimentary"
    )
    assert decide(reader, article).reason == "plan-required"
    Subscription.objects.create(member=reader, plan=print_plan, status="complimentary")
    assert decide(reader, article)


def test_a_section_cannot_default_to_chosen_plans(magazine):
    field = SectionPage._meta.get_field("default_access_level")
    assert "plans" not in {value for value, _label in field.choices}
