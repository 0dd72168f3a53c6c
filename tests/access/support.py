"""A magazine with one article per access level, each hiding a sentinel
sentence (and a figure, and a narration) behind its teaser break; and readers
in every subscription state, made directly with billing's models."""

import io
import re
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.images import ImageFile
from django.core.files.storage import storages
from django.utils import timezone
from PIL import Image as PILImage

from masthead.access.models import MeteredRead, PaywallSettings
from masthead.ads.models import AdSlot
from masthead.audio.models import IssueEpisode, Narration
from masthead.billing.models import (
    IssuePurchase,
    Organisation,
    OrganisationSeat,
    Plan,
    Price,
    Subscription,
)
from masthead.editions.models import Edition
from masthead.newsroom.models import CreditedImage, SectionPage
from tests.factories import make_article, make_author, make_issue, paragraph

# Every gated sentence, caption and figure file carries this word; nothing
# else on the site does.
SENTINEL = "sentinel"
LEVELS = ("public", "members", "subscribers", "plans")
# The plan the per-plan article asks for; the subscriber states hold it.
CHOSEN_PLAN = "digital-print"
OTHER_PLAN = "digital"
FREE_ARTICLES = 3
DAY = timedelta(days=1)


def gated_sentence(level):
    return (
        f"Only readers with access learn that the obsidian lighthouse keeps SENTINEL-{level} lit."
    )


def teaser_sentence(level):
    return f"Anyone may read how the {level} story opens."


def image(title, filename):
    buffer = io.BytesIO()
    PILImage.new("RGB", (320, 200), (60, 90, 120)).save(buffer, "JPEG")
    return CreditedImage.objects.create(
        title=title, caption="", credit="", file=ImageFile(buffer, name=filename)
    )


def document(title, filename):
    """A document editors attached: a file in private storage."""
    from wagtail.documents import get_document_model

    return get_document_model().objects.create(
        title=title, file=ContentFile(document_bytes(title), name=filename)
    )


def document_bytes(title):
    return f"%PDF-1.4 the attached report, {title}".encode()


def gated_body(level):
    figure = image(f"SENTINEL-{level} figure", f"sentinel-figure-{level}.jpg")
    report = document(f"SENTINEL-{level} report", f"sentinel-report-{level}.pdf")
    return [
        paragraph(f"<p>{teaser_sentence(level)}</p>"),
        paragraph(f"<p>The second teaser paragraph of the {level} story.</p>"),
        ("teaser_break", None),
        paragraph(f"<p>{gated_sentence(level)}</p>"),
        paragraph(f'<p>Read <a linktype="document" id="{report.pk}">the full report</a>.</p>'),
        ("figure", {"image": figure, "caption": f"SENTINEL-{level} caption", "credit": ""}),
        ("pull_quote", {"text": f"SENTINEL-{level} pulled", "attribution": ""}),
        paragraph("<p>The gated closing paragraph.</p>"),
    ]


def gated_attachments(article):
    """(the figure's image, the linked document) in the article's gated part."""
    from wagtail.documents import get_document_model

    [figure] = [block.value["image"] for block in article.body if block.block_type == "figure"]
    [report_id] = [
        int(match)
        for block in article.body
        if block.block_type == "paragraph"
        for match in re.findall(r'linktype="document" id="(\d+)"', block.value.source)
    ]
    return figure, get_document_model().objects.get(pk=report_id)


def ensure_plans():
    from masthead.billing.actions import ensure_default_plans

    ensure_default_plans()
    return {plan.code: plan for plan in Plan.objects.all()}


def write_private(name, content):
    storage = storages["private"]
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(content))


def add_narration(article):
    """A ready narration with small files in private storage."""
    full = write_private(f"narration/{article.pk}-full.mp3", b"ID3 full narration")
    teaser = write_private(f"narration/{article.pk}-teaser.mp3", b"ID3 teaser narration")
    return Narration.objects.create(
        article=article,
        status="ready",
        audio_file=full,
        audio_size=18,
        duration=60.0,
        teaser_file=teaser,
        teaser_size=20,
        teaser_duration=10.0,
        timings={"paragraphs": {}},
        teaser_timings={"paragraphs": {}},
    )


def add_edition(issue):
    name = write_private(f"editions/{issue.slug}.epub", b"PK edition of the issue")
    return Edition.objects.create(
        issue=issue, format="epub", status="ready", file_name=name, size=23, built_at=timezone.now()
    )


def add_issue_episode(issue):
    """The issue's audio episode: a small file in private storage."""
    name = write_private(f"episodes/{issue.slug}.mp3", b"ID3 the issue's episode")
    return IssueEpisode.objects.create(issue=issue, audio_file=name, audio_size=23, duration=600.0)


def add_ads():
    ad_image = image("House ad", "house-ad.jpg")
    return [
        AdSlot.objects.create(
            name="Inline house ad",
            placement="article_inline",
            kind="house",
            image=ad_image,
            link_url="https://example.org/offer",
            alt_text="Our spring offer",
        ),
        AdSlot.objects.create(
            name="Sidebar snippet",
            placement="article_sidebar",
            kind="html",
            html='<p class="sponsor-snippet">Sponsored by a trusted partner</p>',
        ),
        AdSlot.objects.create(
            name="Section top",
            placement="section_top",
            kind="html",
            html='<p class="sponsor-snippet">Section sponsor</p>',
        ),
    ]


@dataclass
class World:
    articles: dict
    issue: object
    plans: dict
    others: list
    # An issue none of the four articles is in (an earlier story's).
    other_issue: object = None


def build_world(home):
    """Four articles (one per level) under a subscribers-by-default section,
    in one issue, with narrations and an EPUB; ads in every placement."""
    plans = ensure_plans()
    section = SectionPage.objects.get(slug="finance")
    section.default_access_level = "subscribers"
    section.save_revision().publish()
    author = make_author("Rosa Quill")
    articles = {}
    for level in LEVELS:
        article = make_article(
            section,
            title=f"The {level} story",
            dek=f"What the {level} story is about.",
            authors=[author],
            body=gated_body(level),
            access_level="" if level == "subscribers" else level,
        )
        if level == "plans":
            article.required_plans.set([plans[CHOSEN_PLAN]])
            article.save_revision().publish()
            article.refresh_from_db()
        add_narration(article)
        articles[level] = article
    # Other subscriber-only articles: what metered members have already read.
    others = [
        make_article(section, title=f"Earlier story {n}", access_level="subscribers")
        for n in range(FREE_ARTICLES)
    ]
    issue = make_issue(list(articles.values()), number=7)
    add_edition(issue)
    add_issue_episode(issue)
    other_issue = make_issue(others[:1], number=8)
    add_ads()
    return World(articles, issue, plans, others, other_issue)


# Readers ---------------------------------------------------------------------------

STATES = (
    "anonymous",
    "free member",
    "metered, within the limit",
    "metered, over the limit",
    "active",
    "active on another plan",
    "trialing",
    "cancelled, in the paid period",
    "lapsed",
    "refunded",
    "payment failed, within grace",
    "payment failed, past grace",
    "complimentary",
    "gift",
    "bought this issue",
    "bought another issue",
    "bought this issue, refunded",
    "group seat",
    "group seat, organisation lapsed",
    "active on another plan, group seat",
)
# States whose subscription grants access now (billing's current_entitlement).
ENTITLED = {
    "active",
    "active on another plan",
    "trialing",
    "cancelled, in the paid period",
    "payment failed, within grace",
    "complimentary",
    "gift",
    "group seat",
    "active on another plan, group seat",
}
METERED = {"metered, within the limit", "metered, over the limit"}
# A single issue bought on its own: the world's issue, with all four articles.
BOUGHT = "bought this issue"


def _subscription(member, plan, status, **fields):
    price = Price.objects.filter(plan=plan, interval="month").first()
    paid = status not in (Subscription.Status.COMPLIMENTARY, Subscription.Status.GIFT)
    return Subscription.objects.create(
        member=member,
        plan=plan,
        price=price if paid else None,
        status=status,
        stripe_subscription_id=f"sub_{member.pk}_{status}" if paid else "",
        **fields,
    )


def make_reader(state, world, email=None):
    """The user for a reader state (None for anonymous)."""
    if state == "anonymous":
        return None
    now = timezone.now()
    S = Subscription.Status
    user = get_user_model().objects.create_user(
        email=email or f"{state.replace(' ', '-').replace(',', '')}@example.org",
        full_name=state.title(),
    )
    chosen, other = world.plans[CHOSEN_PLAN], world.plans[OTHER_PLAN]
    if state in METERED:
        paywall = PaywallSettings.load()
        paywall.metered = True
        paywall.free_articles = FREE_ARTICLES
        paywall.save()
        read = FREE_ARTICLES - 1 if state == "metered, within the limit" else FREE_ARTICLES
        for article in world.others[:read]:
            MeteredRead.objects.create(member=user, article=article, read_at=now - 2 * DAY)
        if read < FREE_ARTICLES:
            # A read from before the window does not count.
            MeteredRead.objects.create(
                member=user, article=world.others[-1], read_at=now - 40 * DAY
            )
    elif state == "active":
        _subscription(user, chosen, S.ACTIVE, current_period_end=now + 20 * DAY)
    elif state == "active on another plan":
        _subscription(user, other, S.ACTIVE, current_period_end=now + 20 * DAY)
    elif state == "active on another plan, group seat":
        # Their own subscription is the best entitlement; the seat's plan is
        # the one a plan-restricted article asks for.
        _subscription(user, other, S.ACTIVE, current_period_end=now + 20 * DAY)
        organisation = Organisation.objects.create(
            name="Plan Library",
            plan=chosen,
            contract_starts=timezone.localdate() - timedelta(days=30),
            contract_ends=timezone.localdate() + timedelta(days=30),
        )
        OrganisationSeat.objects.create(
            organisation=organisation, email=user.email, member=user, accepted_at=now - DAY
        )
    elif state == "trialing":
        _subscription(
            user, chosen, S.TRIALING, current_period_end=now + 5 * DAY, trial_end=now + 5 * DAY
        )
    elif state == "cancelled, in the paid period":
        _subscription(
            user,
            chosen,
            S.ACTIVE,
            current_period_end=now + 3 * DAY,
            cancel_at_period_end=True,
            canceled_at=now - DAY,
        )
    elif state == "lapsed":
        _subscription(
            user, chosen, S.CANCELED, current_period_end=now - 5 * DAY, ended_at=now - 5 * DAY
        )
    elif state == "refunded":
        _subscription(
            user, chosen, S.REFUNDED, current_period_end=now + 20 * DAY, ended_at=now - DAY
        )
    elif state == "payment failed, within grace":
        _subscription(
            user,
            chosen,
            S.PAST_DUE,
            current_period_end=now - 3 * DAY,
            payment_failed_at=now - 3 * DAY,
        )
    elif state == "payment failed, past grace":
        _subscription(
            user,
            chosen,
            S.PAST_DUE,
            current_period_end=now - 9 * DAY,
            payment_failed_at=now - 9 * DAY,
        )
    elif state == "complimentary":
        _subscription(user, chosen, S.COMPLIMENTARY, granted_by=None)
    elif state == "gift":
        _subscription(user, chosen, S.GIFT, ends_at=now + 90 * DAY)
    elif state.startswith("bought"):
        refunded = state.endswith("refunded")
        IssuePurchase.objects.create(
            member=user,
            issue=world.other_issue if state == "bought another issue" else world.issue,
            amount=600,
            status=IssuePurchase.Status.REFUNDED if refunded else IssuePurchase.Status.PAID,
            paid_at=now - 3 * DAY,
            refunded_at=now - DAY if refunded else None,
        )
    elif state.startswith("group seat"):
        lapsed = state.endswith("lapsed")
        today = timezone.localdate()
        organisation = Organisation.objects.create(
            name="City Library",
            plan=chosen,
            contract_starts=today - timedelta(days=400),
            contract_ends=today - timedelta(days=35) if lapsed else today + timedelta(days=30),
        )
        OrganisationSeat.objects.create(
            organisation=organisation, email=user.email, member=user, accepted_at=now - DAY
        )
    else:
        assert state == "free member", state
    return user


def reads_in_full(state, level):
    """Whether a reader in `state` gets the whole of the `level` article."""
    if level == "public":
        return True
    if state == "anonymous":
        return False
    if level == "members":
        return True
    if state == BOUGHT:
        # Every article of the issue bought, whatever its level.
        return True
    if level == "subscribers":
        return state in ENTITLED or state == "metered, within the limit"
    assert level == "plans"
    return state in ENTITLED and state != "active on another plan"


def sees_ads(state):
    return state not in ENTITLED


def gets_editions(state):
    return state in ENTITLED or state == BOUGHT


def gets_issue_announcements(state):
    """The new-issue email is for subscribers: a buyer of one issue is not one."""
    return state in ENTITLED
