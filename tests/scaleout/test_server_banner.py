"""The production web server (granian) names no software: it sends its own
`server: granian` unless the application names a server, which Masthead
does on every response, kept pages included. Runs on SQLite too."""

import urllib.error
import urllib.request

import pytest

from tests.scaleout import support

pytestmark = pytest.mark.django_db(transaction=True)


def headers_of(url):
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.headers
    except urllib.error.HTTPError as error:
        return error.headers


def test_granian_names_no_software(site_tree, tmp_path):
    database = support.SharedDatabase(tmp_path)
    database.publish()
    env = support.process_env(tmp_path, database, PAGE_CACHE_SECONDS=300)
    server = support.AppServer(env, tmp_path / "server.log", workers=1, threads=1)
    try:
        server.wait_ready()
        answers = [headers_of(server.url + path) for path in ("/", "/", "/health/", "/nowhere/")]
        assert answers[1]["X-Page-Cache"] == "hit"
        for headers in answers:
            assert headers.get_all("Server") == ["web"]
            assert "Content-Security-Policy" in headers
    finally:
        server.stop()
