import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from masthead.serving import pagecache
from masthead.serving.pagecache import AnonymousPageCache
from tests.wsgi import wsgi_environ

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("wsgi_in_test_transaction")]


class WSGIClient:
    """Calls a WSGI application the way a server would."""

    def __init__(self, application):
        self.application = application

    def get(self, path, cookies=None, method="GET"):
        environ = wsgi_environ(path, method, cookies)
        captured = {}

        def start_response(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, dict(headers)

        body = b"".join(self.application(environ, start_response))
        return captured["status"], captured["headers"], body.decode()


@pytest.fixture
def wsgi(monkeypatch):
    return WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))


def test_anonymous_article_is_served_from_cache_the_second_time(wsgi, magazine):
    url = magazine["free"].url
    status, headers, first = wsgi.get(url)
    assert status.startswith("200") and "X-Page-Cache" not in headers
    assert "public" in headers["Cache-Control"]
    status, headers, second = wsgi.get(url)
    assert headers["X-Page-Cache"] == "hit"
    assert second == first


def test_signed_in_reader_never_reads_or_fills_the_cache(wsgi, magazine, client, django_user_model):
    user = django_user_model.objects.create_user("reader@example.com", "pw-12345-long")
    client.force_login(user)
    session = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    url = magazine["free"].url
    status, headers, signed_in = wsgi.get(url, cookies=session)
    assert "private" in headers["Cache-Control"]
    assert "Cookie" in headers["Vary"]
    assert 'href="/account/">Account' in signed_in
    # The anonymous reader who comes next gets the anonymous page, not that one.
    _, headers, anonymous = wsgi.get(url)
    assert "X-Page-Cache" not in headers
    assert 'href="/account/">Account' not in anonymous
    _, headers, _ = wsgi.get(url, cookies=session)
    assert "X-Page-Cache" not in headers


def test_a_renamed_session_cookie_still_keeps_signed_in_readers_out(
    wsgi, magazine, client, django_user_model, settings
):
    url = magazine["free"].url
    wsgi.get(url)
    assert wsgi.get(url)[1]["X-Page-Cache"] == "hit"
    settings.SESSION_COOKIE_NAME = "magazine_session"
    user = django_user_model.objects.create_user("reader@example.com", "pw-12345-long")
    client.force_login(user)
    session = {"magazine_session": client.cookies["magazine_session"].value}
    _status, headers, page = wsgi.get(url, cookies=session)
    assert "X-Page-Cache" not in headers
    assert 'href="/account/">Account' in page


def test_publishing_refreshes_cached_pages(wsgi, magazine, django_capture_on_commit_callbacks):
    article = magazine["free"]
    wsgi.get(article.url)
    assert wsgi.get(article.url)[1]["X-Page-Cache"] == "hit"
    article.title = "Border talks resume after a week"
    with django_capture_on_commit_callbacks(execute=True):  # the publish commits
        article.save_revision().publish()
        # Until it has committed, readers get the old page, still kept.
        assert wsgi.get(article.url)[1]["X-Page-Cache"] == "hit"
    _, headers, body = wsgi.get(article.url)
    assert "X-Page-Cache" not in headers
    assert "Border talks resume after a week" in body
    # The home page, which lists it, was refreshed too.
    assert "Border talks resume after a week" in wsgi.get("/")[2]


def test_unpublishing_removes_the_page_at_once(wsgi, magazine, django_capture_on_commit_callbacks):
    article = magazine["free"]
    wsgi.get(article.url)
    with django_capture_on_commit_callbacks(execute=True):
        article.unpublish()
    status, _, _ = wsgi.get(article.url)
    assert status.startswith("404")


def test_admin_and_account_paths_and_posts_bypass_the_cache(wsgi, magazine):
    for path in ("/admin/login/", "/account/"):
        wsgi.get(path)
        assert "X-Page-Cache" not in wsgi.get(path)[1]
    assert "X-Page-Cache" not in wsgi.get("/", method="POST")[1]


def test_404s_are_not_cached(wsgi, magazine):
    wsgi.get("/no-such-page/")
    status, headers, _ = wsgi.get("/no-such-page/")
    assert status.startswith("404") and "X-Page-Cache" not in headers


def test_query_strings_are_part_of_the_key(wsgi, magazine):
    _, _, bond = wsgi.get("/search/?q=bond")
    _, _, border = wsgi.get("/search/?q=border")
    assert "The bond market blinks" in bond and "The bond market blinks" not in border


def test_static_files_and_uploads_cost_the_page_cache_nothing(wsgi, magazine, cache_calls):
    from masthead.serving import singleflight

    calls = cache_calls(pagecache, singleflight)
    for path in ("/static/css/masthead.css", "/media/original_images/notes.txt"):
        _status, headers, _body = wsgi.get(path)
        assert "X-Page-Cache" not in headers
    assert calls == []
    # A page still goes through it.
    wsgi.get(magazine["free"].url)
    assert calls
