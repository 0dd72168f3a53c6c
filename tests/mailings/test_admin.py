"""The editor's side in the Wagtail admin: preview as a free member and as
a subscriber, send a test, send, watch progress; lift a suppression."""

from email import message_from_bytes
from email.policy import default

from masthead.mailings import actions
from masthead.mailings.models import Mailing, NewsletterSubscription, Suppression
from tests.issues.support import make_member
from tests.mailings.conftest import FREE_PART, GATED_PART


def test_an_editor_previews_tests_and_sends_a_mailing(
    client, smtp_server, mailing, letter, django_capture_on_commit_callbacks
):
    editor = make_member("editor@example.com", is_staff=True, is_superuser=True)
    reader = make_member("reader@example.com")
    actions.set_newsletter_consent(reader, letter, True, NewsletterSubscription.Source.ADMIN)
    client.force_login(editor)
    control = f"/admin/newsletters/mailing/{mailing.pk}/"
    page = client.get(control)
    assert page.status_code == 200 and b"Send a test to me" in page.content

    free = client.get(control + "preview/free-member/").content.decode()
    assert FREE_PART in free and GATED_PART not in free
    full = client.get(control + "preview/subscriber/").content.decode()
    assert GATED_PART in full

    client.post(control, {"action": "test", "cut": "free-member"})
    [test] = [message_from_bytes(raw, policy=default) for raw in smtp_server.messages]
    assert test["To"] == "editor@example.com" and test["Subject"].startswith("[Test")
    assert GATED_PART not in test.get_body(preferencelist=("html",)).get_content()
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.DRAFT

    with django_capture_on_commit_callbacks(execute=True):
        client.post(control, {"action": "send"})
    mailing.refresh_from_db()
    assert mailing.status == Mailing.Status.SENT
    assert [m["To"] for m in map(message_from_bytes, smtp_server.messages)][1:] == [
        "reader@example.com"
    ]
    page = client.get(control).content.decode()
    assert 'data-figure="sent">1<' in page and 'data-figure="recipients">1<' in page


def test_a_publisher_lifts_a_suppression(client, db, site_tree):
    editor = make_member("editor@example.com", is_staff=True, is_superuser=True)
    suppression = actions.suppress_address("x@example.com", Suppression.Reason.HARD_BOUNCE)
    client.force_login(editor)
    listing = client.get("/admin/snippets/mailings/suppression/")
    assert listing.status_code == 200 and b"x@example.com" in listing.content
    assert client.get(f"/admin/newsletters/suppression/{suppression.pk}/lift/").status_code == 200
    client.post(f"/admin/newsletters/suppression/{suppression.pk}/lift/")
    suppression.refresh_from_db()
    assert suppression.lifted_at is not None
