"""Masthead's settings with the plain page type installed. With
PLAIN_WAGTAIL=1, Wagtail's stock serving only: its URLs, Django's own
middleware, no page cache."""

import os

from masthead.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "plainpage"]  # noqa: F405

if os.environ.get("PLAIN_WAGTAIL") == "1":
    ROOT_URLCONF = "plainpage.urls"
    MIDDLEWARE = [
        "django.middleware.security.SecurityMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
    ]
    PAGE_CACHE_SECONDS = 0
