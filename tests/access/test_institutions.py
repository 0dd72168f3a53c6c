"""Institutional access by IP range: the client's address, the ranges, whose
access runs, the decision, and what makes the ranges stale."""

import io
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from masthead.access import rules
from masthead.access.institutions import (
    Institution,
    Ranges,
    current_institution,
    flush_uses,
    institution_scope,
    load_ranges,
)
from masthead.billing.models import (
    InstitutionalUse,
    Organisation,
    OrganisationNetwork,
    Plan,
    Subscription,
)
from masthead.core.clients import client_address
from masthead.serving.institutions import institution_of
from masthead.serving.pagecache import current_generation
from tests.access.support import CHOSEN_PLAN, OTHER_PLAN, ensure_plans, gated_sentence

LIBRARY = Institution(1, "City Library", "digital")
UNIVERSITY = Institution(2, "Northern University", "digital")


def make_organisation(name="City Library", cidrs=("192.0.2.0/24",), plan=None, **fields):
    plan = plan or Plan.objects.order_by("pk").first()
    today = timezone.localdate()
    fields.setdefault("contract_starts", today - timedelta(days=30))
    fields.setdefault("contract_ends", today + timedelta(days=30))
    organisation = Organisation.objects.create(name=name, plan=plan, **fields)
    for cidr in cidrs:
        network = OrganisationNetwork(organisation=organisation, cidr=cidr)
        network.full_clean()
        network.save()
    return organisation


# The client's address ------------------------------------------------------------------


def test_the_peer_is_the_client_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address("203.0.113.7", "192.0.2.50") == "203.0.113.7"


def test_forwarded_for_from_an_untrusted_peer_is_ignored(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_address("203.0.113.7", "192.0.2.50") == "203.0.113.7"


def test_forwarded_for_is_read_from_the_right_past_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1", "10.0.0.0/8", "2001:db8:ffff::/48"]
    # The left-most entry is whatever the client claimed: not trusted.
    assert client_address("127.0.0.1", "192.0.2.50, 198.51.100.9, 10.1.2.3") == "198.51.100.9"
    assert client_address("2001:db8:ffff::1", "2001:db8:1::5") == "2001:db8:1::5"
    assert client_address("127.0.0.1", "") == "127.0.0.1"


@pytest.mark.parametrize(
    "forwarded",
    [
        "not an address",
        "192.0.2.999",
        "192.0.2.1:80",
        "192.0.2.1/24",
        "192.0.2.1 x",
        "fe80::1%eth0",
    ],
)
def test_a_malformed_forwarded_for_matches_no_range(settings, forwarded):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    ranges = Ranges([("192.0.2.0/24", LIBRARY), ("fe80::/10", UNIVERSITY)])
    assert ranges.match(client_address("127.0.0.1", forwarded)) is None


def test_a_malformed_trusted_proxy_setting_trusts_nobody(settings):
    settings.TRUSTED_PROXIES = ["not-a-network"]
    assert client_address("127.0.0.1", "192.0.2.50") == "127.0.0.1"


# Ranges ---------------------------------------------------------------------------------


def test_ipv4_and_ipv6_ranges_match_their_addresses_only():
    ranges = Ranges([("192.0.2.0/24", LIBRARY), ("2001:db8:10::/48", UNIVERSITY)])
    assert ranges.match("192.0.2.0") == LIBRARY
    assert ranges.match("192.0.2.255") == LIBRARY
    assert ranges.match("192.0.3.0") is None
    assert ranges.match("192.0.1.255") is None
    assert ranges.match("2001:db8:10:ffff::1") == UNIVERSITY
    assert ranges.match("2001:db8:11::1") is None
    # An IPv4 address never matches an IPv6 range of the same number.
    assert Ranges([("::/96", LIBRARY)]).match("0.0.0.1") is None


def test_a_nested_range_owns_its_addresses_and_the_outer_one_the_rest():
    ranges = Ranges(
        [
            ("10.0.0.0/8", UNIVERSITY),
            ("10.1.0.0/16", LIBRARY),
            ("10.1.2.0/24", UNIVERSITY),
            ("10.200.0.0/16", LIBRARY),
        ]
    )
    assert ranges.match("10.0.0.1") == UNIVERSITY
    assert ranges.match("10.1.0.1") == LIBRARY
    assert ranges.match("10.1.2.3") == UNIVERSITY
    assert ranges.match("10.1.3.0") == LIBRARY
    assert ranges.match("10.1.255.255") == LIBRARY
    assert ranges.match("10.2.0.0") == UNIVERSITY
    assert ranges.match("10.200.9.9") == LIBRARY
    assert ranges.match("10.255.255.255") == UNIVERSITY
    assert ranges.match("11.0.0.0") is None


def test_the_same_range_twice_is_matched_once():
    ranges = Ranges([("192.0.2.0/24", LIBRARY), ("192.0.2.0/24", UNIVERSITY)])
    assert ranges.match("192.0.2.9") == UNIVERSITY
    assert len(ranges.intervals[4][0]) == 1


def test_no_ranges_match_nothing():
    ranges = Ranges([])
    assert ranges.empty and ranges.match("192.0.2.1") is None


@pytest.mark.django_db
@pytest.mark.parametrize("cidr", ["192.0.2.0/33", "300.1.1.0/24", "library", "2001:db8::/129", ""])
def test_an_invalid_range_is_refused_with_a_clear_error(cidr):
    ensure_plans()
    organisation = make_organisation(cidrs=())
    network = OrganisationNetwork(organisation=organisation, cidr=cidr)
    with pytest.raises(ValidationError) as raised:
        network.full_clean()
    assert "cidr" in raised.value.message_dict


@pytest.mark.django_db
def test_a_range_is_kept_normalised():
    ensure_plans()
    organisation = make_organisation(cidrs=(" 192.0.2.77/24 ", "2001:DB8:0:0::/48"))
    assert sorted(organisation.networks.values_list("cidr", flat=True)) == [
        "192.0.2.0/24",
        "2001:db8::/48",
    ]


# Whose access runs ----------------------------------------------------------------------


@pytest.mark.django_db
def test_only_organisations_whose_access_runs_now_let_readers_in():
    ensure_plans()
    today = timezone.localdate()
    make_organisation("Running", ("192.0.2.0/24",))
    make_organisation("Not yet", ("198.51.100.0/24",), contract_starts=today + timedelta(days=1))
    make_organisation("Ended", ("203.0.113.0/24",), contract_ends=today - timedelta(days=1))
    make_organisation("Inactive", ("10.0.0.0/8",), active=False)
    make_organisation("No terms", ("172.16.0.0/12",), contract_starts=None, contract_ends=None)
    make_organisation("Last day", ("100.64.0.0/10",), contract_starts=today, contract_ends=today)
    ranges = load_ranges(timezone.now())
    assert ranges.match("192.0.2.1").provider == "Running"
    assert ranges.match("100.64.0.1").provider == "Last day"
    for address in ("198.51.100.1", "203.0.113.1", "10.0.0.1", "172.16.0.1"):
        assert ranges.match(address) is None, address


@pytest.mark.django_db
def test_nginx_is_given_the_ranges_of_running_organisations_only(tmp_path):
    ensure_plans()
    today = timezone.localdate()
    running = make_organisation("Running", ("192.0.2.0/24", "2001:db8::/32"))
    make_organisation("Ended", ("203.0.113.0/24",), contract_ends=today - timedelta(days=1))
    out = io.StringIO()
    call_command("institution_ranges", stdout=out)
    assert out.getvalue().splitlines() == [
        f"192.0.2.0/24 1;  # {running.pk}",
        f"2001:db8::/32 1;  # {running.pk}",
    ]

    # Written whole, and the reload command run only when the list changed.
    target, marker = tmp_path / "institutions.conf", tmp_path / "reloaded"
    command = f"echo x >> {marker}"
    call_command("institution_ranges", output=str(target), then=command, stdout=io.StringIO())
    assert target.read_text() == out.getvalue() and marker.read_text() == "x\n"
    call_command("institution_ranges", output=str(target), then=command, stdout=io.StringIO())
    assert marker.read_text() == "x\n"
    running.active = False
    running.save()
    call_command("institution_ranges", output=str(target), then=command, stdout=io.StringIO())
    assert target.read_text() == "" and marker.read_text() == "x\nx\n"
    with pytest.raises(CommandError, match="failed"):
        running.active = True
        running.save()
        call_command("institution_ranges", output=str(target), then="false", stdout=io.StringIO())


@pytest.mark.django_db
def test_an_organisations_subscription_lets_readers_in_while_entitled(django_user_model):
    ensure_plans()
    now = timezone.now()
    manager = django_user_model.objects.create_user("librarian@example.org")
    plan = Plan.objects.order_by("pk").first()
    subscription = Subscription.objects.create(
        member=manager,
        plan=plan,
        status=Subscription.Status.ACTIVE,
        current_period_end=now + timedelta(days=10),
    )
    make_organisation(
        contract_starts=None, contract_ends=None, subscription=subscription, access_notice="Ours"
    )
    assert load_ranges(now).match("192.0.2.1").provider == "Ours"
    subscription.status = Subscription.Status.CANCELED
    subscription.ended_at = now
    subscription.save()
    assert load_ranges(now).match("192.0.2.1") is None


# What makes the ranges stale ---------------------------------------------------------------


@pytest.mark.django_db
def test_changing_an_organisation_or_its_ranges_makes_the_ranges_stale(
    django_capture_on_commit_callbacks,
):
    ensure_plans()
    meta = {"REMOTE_ADDR": "192.0.2.9"}
    assert institution_of(meta, current_generation()) is None
    organisation = make_organisation()
    assert institution_of(meta, current_generation()).provider == "City Library"
    organisation.access_notice = "The City Library"
    organisation.save()
    assert institution_of(meta, current_generation()).provider == "The City Library"
    # Bulk writes too.
    Organisation.objects.filter(pk=organisation.pk).update(contract_ends=timezone.localdate())
    OrganisationNetwork.objects.filter(organisation=organisation).update(cidr="198.51.100.0/24")
    assert institution_of(meta, current_generation()) is None
    assert institution_of({"REMOTE_ADDR": "198.51.100.1"}, current_generation()) is not None
    Organisation.objects.filter(pk=organisation.pk).update(active=False)
    assert institution_of({"REMOTE_ADDR": "198.51.100.1"}, current_generation()) is None
    Organisation.objects.filter(pk=organisation.pk).update(active=True)
    OrganisationNetwork.objects.filter(organisation=organisation).delete()
    assert institution_of({"REMOTE_ADDR": "198.51.100.1"}, current_generation()) is None


# The decision ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_decide_grants_an_institutions_readers_what_its_plan_grants(in_world):
    articles = in_world.articles
    chosen = Institution(1, "City Library", CHOSEN_PLAN)
    other = Institution(2, "Town Library", OTHER_PLAN)
    assert rules.decide(None, articles["subscribers"]).reason == "sign-in-required"
    with institution_scope(chosen):
        assert current_institution() == chosen
        assert rules.decide(None, articles["public"]).reason == "public"
        for level in ("members", "subscribers", "plans"):
            assert rules.decide(None, articles[level]) == rules.Access(True, "institution")
        assert rules.decide(None, in_world.issue).reason == "institution"
        assert not rules.shows_ads(None)
    with institution_scope(other):
        assert rules.decide(None, articles["subscribers"]).reason == "institution"
        assert rules.decide(None, articles["plans"]).reason == "sign-in-required"
    with institution_scope(None):
        assert rules.decide(None, articles["subscribers"]).reason == "sign-in-required"
    assert current_institution() is None


@pytest.mark.django_db
def test_a_member_with_their_own_access_keeps_their_reason(in_world):
    from tests.access.support import make_reader

    subscriber = make_reader("active", in_world)
    free = make_reader("free member", in_world)
    with institution_scope(Institution(1, "City Library", CHOSEN_PLAN)):
        assert rules.decide(subscriber, in_world.articles["subscribers"]).reason == "subscriber"
        assert rules.decide(free, in_world.articles["members"]).reason == "member"
        assert rules.decide(free, in_world.articles["subscribers"]).reason == "institution"


# The surfaces, from inside and outside a range ---------------------------------------------

INSIDE = "192.0.2.44"
OUTSIDE = "198.51.100.44"


@pytest.fixture
def library(in_world):
    return make_organisation(plan=in_world.plans[CHOSEN_PLAN], access_notice="City Library")


@pytest.fixture(autouse=True)
def _no_edition_builds(monkeypatch):
    monkeypatch.setattr("masthead.editions.views.schedule_edition_builds", lambda issue: None)


def uses(organisation, kind):
    flush_uses()
    return sum(
        InstitutionalUse.objects.filter(organisation=organisation, kind=kind).values_list(
            "count", flat=True
        )
    )


@pytest.mark.parametrize("level", ["subscribers", "plans"])
def test_a_reader_in_a_range_reads_the_article_and_one_outside_gets_the_teaser(
    in_world, library, level
):
    article = in_world.articles[level]
    inside = Client(REMOTE_ADDR=INSIDE).get(article.url)
    html = inside.content.decode()
    assert gated_sentence(level) in html
    assert "Access provided by City Library" in html
    assert "private" in inside["Cache-Control"] and "public" not in inside["Cache-Control"]
    outside = Client(REMOTE_ADDR=OUTSIDE).get(article.url)
    assert gated_sentence(level) not in outside.content.decode()
    assert "Access provided by" not in outside.content.decode()
    assert uses(library, InstitutionalUse.Kind.ARTICLE_VIEW) == 1


def test_a_reader_in_a_range_downloads_editions_and_audio(in_world, library):
    article = in_world.articles["subscribers"]
    issue = in_world.issue
    edition = reverse("editions:download", args=[issue.pk, "epub"])
    audio = reverse("audio:full", args=[article.pk])
    inside, outside = Client(REMOTE_ADDR=INSIDE), Client(REMOTE_ADDR=OUTSIDE)
    assert inside.get(edition).status_code == 200
    assert outside.get(edition).status_code == 403
    assert inside.get(audio).status_code == 200
    assert outside.get(audio).status_code == 403
    # The player's later ranges of the same file are the same download.
    assert inside.get(audio, HTTP_RANGE="bytes=2-").status_code in (200, 206)
    assert uses(library, InstitutionalUse.Kind.DOWNLOAD) == 2
    inside.get(edition)
    assert uses(library, InstitutionalUse.Kind.DOWNLOAD) == 3
    month = timezone.localdate().replace(day=1)
    assert InstitutionalUse.objects.get(
        organisation=library, kind=InstitutionalUse.Kind.DOWNLOAD
    ).month == (month)


def test_a_proxy_names_the_reader_only_when_trusted(in_world, library, settings):
    article = in_world.articles["subscribers"]
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    proxied = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.9.9.9, {INSIDE}")
    assert gated_sentence("subscribers") in proxied.get(article.url).content.decode()
    settings.TRUSTED_PROXIES = []
    spoofed = Client(REMOTE_ADDR=OUTSIDE, HTTP_X_FORWARDED_FOR=INSIDE)
    assert gated_sentence("subscribers") not in spoofed.get(article.url).content.decode()
    # Garbage in the header: the teaser, not an error.
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    garbage = Client(REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="<script>, ::zz")
    response = garbage.get(article.url)
    assert response.status_code == 200
    assert gated_sentence("subscribers") not in response.content.decode()
