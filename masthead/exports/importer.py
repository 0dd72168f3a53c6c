"""Reading a portable export back into an empty Masthead.

The import is one transaction: an archive that fails half way leaves the
database as it was (picture files already written stay in storage, under
names nothing refers to). It never calls Stripe: subscriptions arrive as the
references the archive holds, and the next reconciliation refreshes them
from Stripe.

Pages are created in the page tree and published through revisions, as an
editor would; their dates are then set back to the archive's, so the
magazine keeps its history.
"""

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from wagtail.models import Site

from masthead.accounts.models import ShippingAddress
from masthead.billing.models import Gift, Plan, Price, Subscription
from masthead.core.models import MagazineSettings
from masthead.core.storage import image_storage
from masthead.issues.models import IssueArticle, IssueIndexPage, IssuePage
from masthead.newsroom.models import (
    ArticleByline,
    ArticlePage,
    Author,
    CreditedImage,
    SectionPage,
)
from masthead.newsroom.site_tree import ensure_site_tree

from .archive import FORMAT, FORMAT_VERSION, RECORD_FILES


class ArchiveError(Exception):
    """The archive cannot be imported as asked."""


@dataclass
class ImportSummary:
    counts: dict = field(default_factory=dict)


def parse_datetime(value):
    return datetime.fromisoformat(value) if value else None


def read_archive(source):
    """(manifest, {name: [records]}, zip) of an export; raises ArchiveError."""
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as error:
        raise ArchiveError(f"Not a zip file: {error}") from error
    try:
        manifest = json.loads(archive.read("manifest.json"))
    except KeyError as error:
        raise ArchiveError("The archive has no manifest.json.") from error
    if manifest.get("format") != FORMAT:
        raise ArchiveError("The archive is not a Masthead export.")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise ArchiveError(
            f"The archive is format version {manifest['format_version']}; this Masthead "
            f"reads up to version {FORMAT_VERSION}. Upgrade Masthead first."
        )
    records = {}
    for name in RECORD_FILES:
        try:
            text = archive.read(f"{name}.jsonl").decode()
        except KeyError:
            text = ""
        records[name] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return manifest, records, archive


def import_archive(source, *, log=None):
    """Import the export at `source` (a path or a binary file object) into
    this install, which must have no articles and no readers yet."""
    log = log or (lambda message: None)
    manifest, records, archive = read_archive(source)
    with archive, transaction.atomic():
        if (
            ArticlePage.objects.exists()
            or get_user_model().objects.filter(is_staff=False, is_superuser=False).exists()
        ):
            raise ArchiveError(
                "This install already has articles or readers; import into an empty one."
            )
        importer = _Importer(archive, records, log)
        importer.run(manifest)
    return ImportSummary(counts={name: len(records[name]) for name in RECORD_FILES})


class _Importer:
    def __init__(self, archive, records, log):
        self.archive = archive
        self.records = records
        self.log = log
        self.images = {}
        self.authors = {}
        self.sections = {}
        self.plans = {}
        self.articles = {}
        self.readers = {}
        self.gifts = {}

    def run(self, manifest):
        self.home = ensure_site_tree()
        self.configure_site(manifest.get("site") or {})
        for record in self.records["images"]:
            self.images[record["id"]] = self.create_image(record)
        for record in self.records["authors"]:
            self.authors[record["slug"]] = self.create_author(record)
        for record in self.records["sections"]:
            self.sections[record["slug"]] = self.update_section(record)
        for record in self.records["plans"]:
            self.plans[record["code"]] = self.create_plan(record)
        for record in self.records["articles"]:
            self.articles[record["path"]] = self.create_article(record)
        self.log(f"Imported {len(self.articles)} articles.")
        for record in self.records["issues"]:
            self.create_issue(record)
        for record in self.records["readers"]:
            self.readers[record["email"]] = self.create_reader(record)
        for record in self.records["gifts"]:
            self.gifts[record["id"]] = self.create_gift(record)
        for record in self.records["readers"]:
            for subscription in record["subscriptions"]:
                self.create_subscription(self.readers[record["email"]], subscription)
        self.log(f"Imported {len(self.readers)} readers.")

    def configure_site(self, site_record):
        site = Site.objects.get(is_default_site=True)
        if site_record.get("name"):
            site.site_name = site_record["name"]
            site.save()
        magazine = MagazineSettings.for_site(site)
        for field_name, key in (
            ("name", "magazine"),
            ("publisher", "publisher"),
            ("description", "description"),
            ("language", "language"),
        ):
            if site_record.get(key):
                setattr(magazine, field_name, site_record[key])
        magazine.save()
        if site_record.get("tagline") and self.home.tagline != site_record["tagline"]:
            self.home.tagline = site_record["tagline"]
            self.home.save_revision().publish()

    def create_image(self, record):
        data = self.archive.read(record["file"])
        if hashlib.sha256(data).hexdigest() != record["sha256"]:
            raise ArchiveError(f"{record['file']} does not match its checksum.")
        # Saved under the name it had, so a private picture stays private.
        name = image_storage.save(record["stored_as"], ContentFile(data))
        return CreditedImage.objects.create(
            title=record["title"],
            caption=record["caption"],
            credit=record["credit"],
            copyright_notice=record.get("copyright_notice", ""),
            file=name,
            width=record["width"],
            height=record["height"],
            file_size=len(data),
            file_hash=hashlib.sha1(data).hexdigest(),
        )

    def image(self, ref):
        return self.images.get(ref) if ref else None

    def create_author(self, record):
        return Author.objects.create(
            slug=record["slug"],
            name=record["name"],
            job_title=record["job_title"],
            bio=record["bio"],
            photo=self.image(record["photo"]),
        )

    def update_section(self, record):
        section = SectionPage.objects.filter(slug=record["slug"]).first()
        if section is None:
            section = SectionPage(slug=record["slug"], title=record["title"])
            self.home.add_child(instance=section)
        section.title = record["title"]
        section.intro = record["intro"]
        section.default_access_level = record["default_access_level"]
        revision = section.save_revision()
        if record.get("live", True):
            revision.publish()
        return section

    def create_plan(self, record):
        plan, _ = Plan.objects.update_or_create(
            code=record["code"],
            defaults={
                "name": record["name"],
                "description": record["description"],
                "includes_print": record["includes_print"],
                "active": record["active"],
                "sort_order": record["sort_order"],
                "stripe_product_id": record["stripe_product_id"],
            },
        )
        for price in record["prices"]:
            self.find_price(plan, price) or Price.objects.create(plan=plan, **price)
        return plan

    def find_price(self, plan, record):
        if record["stripe_price_id"]:
            return Price.objects.filter(stripe_price_id=record["stripe_price_id"]).first()
        return Price.objects.filter(
            plan=plan,
            stripe_price_id="",
            interval=record["interval"],
            amount=record["amount"],
            currency=record["currency"],
        ).first()

    def body(self, blocks):
        stored = []
        for block in blocks:
            block = dict(block)
            if block["type"] == "figure":
                image = self.image(block["value"].get("image"))
                block["value"] = {**block["value"], "image": image.pk if image else None}
            stored.append(block)
        return stored

    def create_article(self, record):
        section = self.sections.get(record["section"]) or SectionPage.objects.get(
            slug=record["section"]
        )
        page = ArticlePage(
            title=record["title"],
            slug=record["slug"],
            seo_title=record.get("seo_title", ""),
            search_description=record.get("search_description", ""),
            dek=record["dek"],
            date=parse_datetime(record["date"]),
            lead_image=self.image(record["lead_image"]),
            lead_image_caption=record["lead_image_caption"],
            body=self.body(record["body"]),
            access_level=record["access_level"],
            correction=record["correction"],
            live=False,
        )
        for position, slug in enumerate(record["authors"]):
            page.bylines.add(ArticleByline(author=self.authors[slug], sort_order=position))
        for tag in record["tags"]:  # one by one: the tags keep their order
            page.tags.add(tag)
        page.required_plans.set([self.plans[code] for code in record["required_plans"]])
        section.add_child(instance=page)
        revision = page.save_revision()
        if record["live"]:
            revision.publish()
        ArticlePage.objects.filter(pk=page.pk).update(
            date=parse_datetime(record["date"]),
            first_published_at=parse_datetime(record["first_published_at"]),
            last_published_at=parse_datetime(record["last_published_at"]),
            corrected_at=parse_datetime(record["corrected_at"]),
        )
        return page

    def create_issue(self, record):
        issue = IssuePage(
            title=record["title"],
            slug=record["slug"],
            volume=record["volume"],
            number=record["number"],
            cover_date=date.fromisoformat(record["cover_date"]),
            cover_image=self.image(record["cover_image"]),
            cover_lines=record["cover_lines"],
            live=False,
        )
        for position, path in enumerate(record["articles"]):
            issue.contents.add(IssueArticle(article=self.articles[path], sort_order=position))
        IssueIndexPage.objects.get().add_child(instance=issue)
        revision = issue.save_revision()
        if record["live"]:
            revision.publish()
        IssuePage.objects.filter(pk=issue.pk).update(
            first_published_at=parse_datetime(record["first_published_at"])
        )
        return issue

    def create_reader(self, record):
        user = get_user_model().objects.create_user(
            record["email"],
            full_name=record["name"],
            first_name=record.get("first_name", ""),
            last_name=record.get("last_name", ""),
            is_active=record.get("active", True),
            wants_newsletter=record["consent"]["newsletter"],
            wants_issue_emails=record["consent"]["issue_emails"],
        )
        if record.get("joined_at"):
            type(user).objects.filter(pk=user.pk).update(
                date_joined=parse_datetime(record["joined_at"])
            )
        if record.get("print_address"):
            ShippingAddress.objects.create(user=user, **record["print_address"])
        return user

    def user(self, email):
        if not email:
            return None
        return self.readers.get(email) or get_user_model().objects.filter(email=email).first()

    def create_gift(self, record):
        return Gift.objects.create(
            plan=self.plans[record["plan"]],
            months=record["months"],
            amount=record["amount"],
            currency=record["currency"],
            status=record["status"],
            buyer=self.user(record["buyer_email"]),
            buyer_email=record["buyer_email"],
            recipient_email=record["recipient_email"],
            recipient_name=record["recipient_name"],
            message=record["message"],
            token_hash=record["token_hash"],
            stripe_checkout_session_id=record["stripe_checkout_session_id"],
            paid_at=parse_datetime(record["paid_at"]),
            expires_at=parse_datetime(record["expires_at"]),
            redeemed_by=self.user(record["redeemed_by"]),
            redeemed_at=parse_datetime(record["redeemed_at"]),
            created_at=parse_datetime(record["created_at"]),
        )

    def create_subscription(self, member, record):
        plan = self.plans[record["plan"]]
        price = self.find_price(plan, record["price"]) if record["price"] else None
        dates = (
            "current_period_start",
            "current_period_end",
            "trial_end",
            "canceled_at",
            "ended_at",
            "ends_at",
            "first_paid_at",
            "created_at",
        )
        return Subscription.objects.create(
            member=member,
            plan=plan,
            price=price,
            status=record["status"],
            stripe_subscription_id=record["stripe_subscription_id"],
            stripe_customer_id=record["stripe_customer_id"],
            stripe_item_id=record["stripe_item_id"],
            cancel_at_period_end=record["cancel_at_period_end"],
            cancellation_reason=record["cancellation_reason"],
            granted_by=self.user(record["granted_by"]),
            note=record["note"],
            gift=self.gifts.get(record["gift"]) if record["gift"] else None,
            **{name: parse_datetime(record[name]) for name in dates},
        )
