"""Helpers shared by the issue, edition and print-run tests.

Billing's entitlements are faked here (`FakeBilling`): the tests decide who
subscribes, with or without print, by monkeypatching the contract functions
`current_entitlement(user)` and `print_entitled_members(now)`.
"""

import os
import shutil
import subprocess
import unicodedata
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.utils import timezone

from masthead.billing import entitlements
from masthead.billing.entitlements import Entitlement


class FakeBilling:
    def __init__(self, monkeypatch):
        self.by_user = {}
        self.calls = 0
        monkeypatch.setattr(entitlements, "current_entitlement", self.current_entitlement)
        monkeypatch.setattr(
            entitlements, "print_entitled_members", self.print_entitled_members, raising=False
        )

    def subscribe(self, user, includes_print=False, ends_at=None, kind="paid"):
        if ends_at is None:
            ends_at = timezone.now() + timedelta(days=365)
        plan = "digital-print" if includes_print else "digital"
        self.by_user[user.pk] = Entitlement(kind, plan, includes_print, ends_at)
        return self.by_user[user.pk]

    def lapse(self, user):
        self.by_user.pop(user.pk, None)

    def current_entitlement(self, user, now=None):
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return self.by_user.get(user.pk)

    def print_entitled_members(self, now=None):
        self.calls += 1
        ids = [pk for pk, entitlement in self.by_user.items() if entitlement.includes_print]
        members = get_user_model().objects.filter(pk__in=ids).order_by("pk")
        return [(member, self.by_user[member.pk]) for member in members]


def make_member(email, **fields):
    return get_user_model().objects.create_user(email=email, password="a-long-password-1", **fields)


def give_address(member, **fields):
    from masthead.accounts.models import ShippingAddress

    values = {
        "name": member.get_full_name() or "A Reader",
        "line1": "1 Main Street",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
        **fields,
    }
    address, _ = ShippingAddress.objects.update_or_create(user=member, defaults=values)
    return address


def epubcheck_command():
    """epubcheck, run through java when Debian's binfmt wrapper is absent."""
    path = shutil.which("epubcheck") or "/usr/bin/epubcheck"
    if os.path.realpath(path).endswith(".jar"):
        return ["java", "-jar", path]
    return [path]


def run_epubcheck(path):
    result = subprocess.run(
        [*epubcheck_command(), str(path)], capture_output=True, text=True, timeout=180
    )
    return result.returncode, result.stdout + result.stderr


def pdf_text(path):
    """The PDF's text as pdftotext reads it, with whitespace and ligatures
    normalised so a headline broken over two lines still matches."""
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    text = unicodedata.normalize("NFKC", result.stdout.decode("utf-8"))
    return " ".join(text.replace("\u00ad", "").split())


def pdf_pages(path):
    result = subprocess.run(["pdfinfo", str(path)], capture_output=True, check=True, text=True)
    for line in result.stdout.splitlines():
        if line.startswith("Page size:") or line.startswith("Pages:"):
            yield line


@contextmanager
def audio_receivers_disconnected():
    """Publishing articles asks the audio app to narrate them (its
    page_published receivers); tests about issues keep narration off."""
    from wagtail.signals import page_published

    from masthead.issues.models import IssuePage
    from masthead.newsroom.models import ArticlePage

    try:
        from masthead.audio.actions import on_issue_published, on_page_published
    except ImportError:
        yield
        return
    receivers = [
        (on_page_published, ArticlePage, "audio_narrate_on_publish"),
        (on_issue_published, IssuePage, "audio_episode_on_publish"),
    ]
    disconnected = [
        (receiver, sender, uid)
        for receiver, sender, uid in receivers
        if page_published.disconnect(sender=sender, dispatch_uid=uid)
    ]
    try:
        yield
    finally:
        for receiver, sender, uid in disconnected:
            page_published.connect(receiver, sender=sender, dispatch_uid=uid)
