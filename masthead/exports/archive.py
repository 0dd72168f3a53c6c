"""Writing the portable export: the magazine as a zip of JSON Lines files
and the picture files they name.

Records refer to each other by what stays true in another install: a
section by its slug, an author by their slug, an article by its URL path, a
plan by its code, a reader by their email address, a picture and a gift by
an id that holds only inside the archive. Database ids never leave.

Subscriptions are references: their Stripe ids and the dates Masthead
keeps. Stripe stays the source of truth for payments, so neither payments
nor card details are in the archive, and nothing here calls Stripe.
"""

import copy
import hashlib
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from django.contrib.auth import get_user_model
from django.utils import timezone
from wagtail.models import Page, Site

from masthead.accounts.models import ShippingAddress
from masthead.billing.models import Gift, Plan, Subscription
from masthead.core.models import MagazineSettings
from masthead.issues.models import IssuePage
from masthead.newsroom.models import ArticlePage, Author, CreditedImage, SectionPage

FORMAT = "masthead-export"
FORMAT_VERSION = 1

# The files of the archive, in the order an importer reads them.
RECORD_FILES = (
    "images",
    "authors",
    "sections",
    "plans",
    "articles",
    "issues",
    "readers",
    "gifts",
)

_PAGE_LINK = re.compile(r'<a linktype="page" id="(\d+)">')
_DOCUMENT_LINK = re.compile(r'<a linktype="document" id="(\d+)">')


def iso(value):
    return value.isoformat() if value is not None else None


def image_ref(image_id):
    return f"image-{image_id}" if image_id else None


def gift_ref(gift_id):
    return f"gift-{gift_id}" if gift_id else None


@dataclass
class ExportSummary:
    counts: dict = field(default_factory=dict)
    path: str = ""


def write_archive(destination, *, progress=None):
    """Write the whole magazine to `destination` (a path or a binary file
    object) as a zip. `progress(done, total)` is called as the parts are
    written. Returns the manifest."""
    progress = progress or (lambda done, total: None)
    site = Site.objects.filter(is_default_site=True).first()
    writers = {
        "images": image_records,
        "authors": author_records,
        "sections": section_records,
        "plans": plan_records,
        "articles": article_records,
        "issues": issue_records,
        "readers": reader_records,
        "gifts": gift_records,
    }
    counts = {}
    with zipfile.ZipFile(destination, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        images = ImageFiles(archive)
        for done, name in enumerate(RECORD_FILES):
            records = writers[name](images) if name == "images" else writers[name]()
            lines = [json.dumps(record, ensure_ascii=False, sort_keys=True) for record in records]
            archive.writestr(f"{name}.jsonl", "".join(line + "\n" for line in lines))
            counts[name] = len(lines)
            progress(done + 1, len(RECORD_FILES) + 1)
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": iso(timezone.now()),
            "site": site_record(site),
            "counts": counts,
            "files": [f"{name}.jsonl" for name in RECORD_FILES],
        }
        archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
        progress(len(RECORD_FILES) + 1, len(RECORD_FILES) + 1)
    return manifest


def site_record(site):
    if site is None:
        return {"name": "", "hostname": "", "magazine": "", "publisher": "", "tagline": ""}
    magazine = MagazineSettings.for_site(site)
    home = site.root_page.specific
    return {
        "name": site.site_name,
        "hostname": site.hostname,
        "magazine": magazine.name,
        "publisher": magazine.publisher,
        "description": magazine.description,
        "language": magazine.language,
        "tagline": getattr(home, "tagline", ""),
    }


class ImageFiles:
    """Each picture's file, stored once under images/ by its checksum."""

    def __init__(self, archive):
        self.archive = archive
        self.written = set()

    def add(self, image):
        with image.file.open("rb") as handle:
            data = handle.read()
        checksum = hashlib.sha256(data).hexdigest()
        suffix = PurePosixPath(image.file.name).suffix.lower()
        name = f"images/{checksum}{suffix}"
        if name not in self.written:
            self.archive.writestr(name, data)
            self.written.add(name)
        return name, checksum


def image_records(images):
    for image in CreditedImage.objects.order_by("pk"):
        name, checksum = images.add(image)
        yield {
            "id": image_ref(image.pk),
            "title": image.title,
            "caption": image.caption,
            "credit": image.credit,
            "copyright_notice": image.copyright_notice,
            "file": name,
            "sha256": checksum,
            "stored_as": image.file.name,
            "width": image.width,
            "height": image.height,
            "private": image.is_private,
            "created_at": iso(image.created_at),
        }


def author_records():
    for author in Author.objects.order_by("slug"):
        yield {
            "slug": author.slug,
            "name": author.name,
            "job_title": author.job_title,
            "bio": author.bio,
            "photo": image_ref(author.photo_id),
        }


def section_records():
    for section in SectionPage.objects.order_by("path"):
        yield {
            "slug": section.slug,
            "title": section.title,
            "intro": section.intro,
            "default_access_level": section.default_access_level,
            "live": section.live,
        }


def plan_records():
    for plan in Plan.objects.prefetch_related("prices").order_by("sort_order", "code"):
        yield {
            "code": plan.code,
            "name": plan.name,
            "description": plan.description,
            "includes_print": plan.includes_print,
            "active": plan.active,
            "sort_order": plan.sort_order,
            "stripe_product_id": plan.stripe_product_id,
            "prices": [price_record(price) for price in plan.prices.order_by("pk")],
        }


def price_record(price):
    return {
        "interval": price.interval,
        "amount": price.amount,
        "currency": price.currency,
        "trial_days": price.trial_days,
        "active": price.active,
        "stripe_price_id": price.stripe_price_id,
    }


def portable_body(page, page_paths):
    """The body's blocks as stored, with pictures named by their archive id
    and links to pages and documents turned into plain links."""
    blocks = copy.deepcopy(page.body.get_prep_value())
    for block in blocks:
        if block["type"] == "figure":
            block["value"] = {**block["value"], "image": image_ref(block["value"].get("image"))}
        elif block["type"] == "paragraph":
            block["value"] = portable_rich_text(block["value"], page_paths)
    return blocks


def portable_rich_text(html, page_paths):
    from wagtail.documents import get_document_model

    def page_link(match):
        return f'<a href="{page_paths.get(int(match.group(1)), "/")}">'

    def document_link(match):
        document = get_document_model().objects.filter(pk=match.group(1)).first()
        return f'<a href="{document.url if document else "/"}">'

    return _DOCUMENT_LINK.sub(document_link, _PAGE_LINK.sub(page_link, html))


def teaser_break(blocks):
    """The position of the teaser break among the body's blocks, or None."""
    for position, block in enumerate(blocks):
        if block["type"] == "teaser_break":
            return position
    return None


def site_path(page):
    """The page's path on the site ("/politics/a-vote/"), without the root."""
    parts = page.url_path.strip("/").split("/")[1:]
    return "/" + "".join(part + "/" for part in parts)


def article_records():
    page_paths = {page.pk: site_path(page) for page in Page.objects.only("pk", "url_path")}
    # In the order they were written, so an import creates them (and their
    # tags) in the same order and lists come out the same.
    articles = (
        ArticlePage.objects.order_by("pk")
        .select_related("lead_image")
        .prefetch_related("bylines__author", "required_plans", "tagged_items__tag")
    )
    for page in articles:
        section = page.get_parent().specific
        body = portable_body(page, page_paths)
        yield {
            "path": site_path(page),
            "slug": page.slug,
            "section": section.slug,
            "title": page.title,
            "seo_title": page.seo_title,
            "search_description": page.search_description,
            "dek": page.dek,
            "date": iso(page.date),
            "live": page.live,
            "first_published_at": iso(page.first_published_at),
            "last_published_at": iso(page.last_published_at),
            "authors": [byline.author.slug for byline in page.bylines.all()],
            "tags": [item.tag.name for item in sorted(page.tagged_items.all(), key=by_pk)],
            "access_level": page.access_level,
            "effective_access_level": page.effective_access_level,
            "required_plans": sorted(plan.code for plan in page.required_plans.all()),
            "teaser_break": teaser_break(body),
            "lead_image": image_ref(page.lead_image_id),
            "lead_image_caption": page.lead_image_caption,
            "correction": page.correction,
            "corrected_at": iso(page.corrected_at),
            "body": body,
            "body_html": str(page.body),
        }


def by_pk(row):
    return row.pk


def issue_records():
    issues = IssuePage.objects.order_by("volume", "number").prefetch_related("contents__article")
    for issue in issues:
        contents = sorted(issue.contents.all(), key=lambda entry: entry.sort_order)
        yield {
            "path": site_path(issue),
            "slug": issue.slug,
            "title": issue.title,
            "volume": issue.volume,
            "number": issue.number,
            "cover_date": issue.cover_date.isoformat(),
            "cover_image": image_ref(issue.cover_image_id),
            "cover_lines": issue.cover_lines,
            "live": issue.live,
            "first_published_at": iso(issue.first_published_at),
            "articles": [site_path(entry.article) for entry in contents],
        }


def readers():
    """Everyone who reads: staff accounts stay with the install."""
    return get_user_model().objects.filter(is_staff=False, is_superuser=False)


def reader_records():
    addresses = {address.user_id: address for address in ShippingAddress.objects.all()}
    subscriptions = {}
    rows = Subscription.objects.select_related("plan", "price", "granted_by").order_by("created_at")
    for subscription in rows.filter(member__isnull=False):
        subscriptions.setdefault(subscription.member_id, []).append(subscription)
    for user in readers().order_by("email"):
        yield {
            "email": user.email,
            "name": user.full_name,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "active": user.is_active,
            "joined_at": iso(user.date_joined),
            "consent": {
                "newsletter": user.wants_newsletter,
                "issue_emails": user.wants_issue_emails,
            },
            # Masthead has no reader labels yet; the field keeps the format
            # ready for them and for importers that bring some.
            "labels": [],
            "print_address": address_record(addresses.get(user.pk)),
            "subscriptions": [
                subscription_record(subscription) for subscription in subscriptions.get(user.pk, [])
            ],
        }


def address_record(address):
    if address is None:
        return None
    return {
        "name": address.name,
        "company": address.company,
        "line1": address.line1,
        "line2": address.line2,
        "city": address.city,
        "region": address.region,
        "postal_code": address.postal_code,
        "country": address.country,
    }


def subscription_kind(subscription):
    if subscription.gift_id:
        return "gift"
    if subscription.status == Subscription.Status.COMPLIMENTARY:
        return "complimentary"
    return "stripe"


def subscription_record(subscription):
    return {
        "kind": subscription_kind(subscription),
        "plan": subscription.plan.code,
        "price": price_record(subscription.price) if subscription.price else None,
        "status": subscription.status,
        "stripe_subscription_id": subscription.stripe_subscription_id,
        "stripe_customer_id": subscription.stripe_customer_id,
        "stripe_item_id": subscription.stripe_item_id,
        "current_period_start": iso(subscription.current_period_start),
        "current_period_end": iso(subscription.current_period_end),
        "trial_end": iso(subscription.trial_end),
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "canceled_at": iso(subscription.canceled_at),
        "cancellation_reason": subscription.cancellation_reason,
        "ended_at": iso(subscription.ended_at),
        "ends_at": iso(subscription.ends_at),
        "first_paid_at": iso(subscription.first_paid_at),
        "created_at": iso(subscription.created_at),
        "granted_by": subscription.granted_by.email if subscription.granted_by else None,
        "note": subscription.note,
        "gift": gift_ref(subscription.gift_id),
    }


def gift_records():
    for gift in Gift.objects.select_related("plan", "redeemed_by").order_by("pk"):
        yield {
            "id": gift_ref(gift.pk),
            "plan": gift.plan.code,
            "months": gift.months,
            "amount": gift.amount,
            "currency": gift.currency,
            "status": gift.status,
            "buyer_email": gift.buyer_email,
            "recipient_email": gift.recipient_email,
            "recipient_name": gift.recipient_name,
            "message": gift.message,
            # Only the hash of the redemption token: a gift sent but not yet
            # redeemed still redeems after an import.
            "token_hash": gift.token_hash,
            "stripe_checkout_session_id": gift.stripe_checkout_session_id,
            "paid_at": iso(gift.paid_at),
            "expires_at": iso(gift.expires_at),
            "redeemed_by": gift.redeemed_by.email if gift.redeemed_by else None,
            "redeemed_at": iso(gift.redeemed_at),
            "created_at": iso(gift.created_at),
        }
