"""Content-Security-Policy, Permissions-Policy and the Server header; no
inline scripts in templates, so reader pages need no nonce (a page kept in the
shared cache would hand every reader the same one)."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

from masthead.serving.pagecache import AnonymousPageCache
from tests.serving.test_pagecache import WSGIClient

pytestmark = pytest.mark.django_db

TEMPLATE_FOLDERS = [
    settings.BASE_DIR / "templates",
    *Path(settings.BASE_DIR, "masthead").glob("*/templates"),
]
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


def directives(policy):
    return {
        name: sources.split()
        for name, _, sources in (part.strip().partition(" ") for part in policy.split(";"))
    }


def inline_scripts(html):
    """The <script> tags of `html` that carry code rather than load a file
    (JSON, JSON-LD among it, is data, which no policy blocks)."""
    return [
        attributes
        for attributes in SCRIPT_TAG.findall(html)
        if "src=" not in attributes and not re.search(r'type="application/[a-z+]*json"', attributes)
    ]


def test_no_template_has_an_inline_script_or_handler():
    found = []
    for folder in TEMPLATE_FOLDERS:
        for template in folder.rglob("*.html"):
            text = template.read_text()
            if inline_scripts(text) or HANDLER_ATTRIBUTE.search(text) or "javascript:" in text:
                found.append(str(template.relative_to(settings.BASE_DIR)))
    assert found == []


def test_a_reader_page_runs_scripts_from_files_only(client, magazine):
    response = client.get(magazine["free"].url)
    assert response.status_code == 200
    policy = directives(response["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'self'"]
    assert policy["base-uri"] == ["'self'"]
    assert "nonce" not in response["Content-Security-Policy"]
    html = response.content.decode()
    assert 'type="application/ld+json"' in html
    assert inline_scripts(html) == []
    assert "camera=()" in response["Permissions-Policy"]
    assert "microphone=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_a_subscribers_page_has_the_same_policy(client, magazine, django_user_model):
    editor = django_user_model.objects.create_superuser("editor@example.com", "pw-12345-long")
    client.force_login(editor)
    response = client.get(magazine["gated"].url)
    assert directives(response["Content-Security-Policy"])["script-src"] == ["'self'"]
    # The editor's userbar loads its scripts from files too.
    assert inline_scripts(response.content.decode()) == []


def test_the_admin_has_a_policy_of_its_own(client, django_user_model):
    editor = django_user_model.objects.create_superuser("editor@example.com", "pw-12345-long")
    client.force_login(editor)
    for path in ("/admin/", "/django-admin/"):
        response = client.get(path)
        assert response.status_code == 200
        policy = directives(response["Content-Security-Policy"])
        # Wagtail's own templates carry inline scripts.
        assert "'unsafe-inline'" in policy["script-src"]
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'self'"]


@pytest.mark.usefixtures("wsgi_in_test_transaction")
def test_pages_from_the_page_cache_carry_the_headers_and_no_server_name(magazine, monkeypatch):
    wsgi = WSGIClient(AnonymousPageCache(WSGIHandler(), ttl=60))
    for label in (None, "hit"):
        _, headers, _ = wsgi.get(magazine["free"].url)
        assert headers.get("X-Page-Cache") == label
        assert directives(headers["Content-Security-Policy"])["script-src"] == ["'self'"]
        assert "Permissions-Policy" in headers
        # Granian names itself unless the application names a server.
        assert headers["Server"] == "web"


def test_errors_carry_the_headers_too(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Content-Security-Policy" in response and response["Server"] == "web"
