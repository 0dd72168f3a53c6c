import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

FIXTURE = Path(__file__).parents[1] / "demo" / "demo_fixture"


def at(*day, hour=9):
    return datetime(*day, hour, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _tasks_recorded_not_run(settings):
    """Publishing queues narration and edition builds; here they are recorded, not run."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}


@pytest.fixture
def demo(db):
    """The demo magazine (the small fixture set), published."""
    from masthead.demo.loader import load_demo

    return load_demo(FIXTURE)


@pytest.fixture
def readers(db):
    """Readers of every kind: paying with a print address, comped, a gift's
    buyer and its recipient, a gift not yet redeemed, a free member."""
    from masthead.accounts.models import ShippingAddress
    from masthead.billing.actions import ensure_default_plans
    from masthead.billing.models import Gift, Plan, Price, Subscription

    ensure_default_plans()
    users = get_user_model().objects
    staff = users.create_user("editor@meridian.example", is_staff=True, full_name="Ed Itor")
    digital = Plan.objects.get(code="digital")
    print_plan = Plan.objects.get(code="digital-print")
    yearly = Price.objects.get(plan=print_plan, interval="year")

    paying = users.create_user(
        "ada@example.com", full_name="Ada Reader", wants_newsletter=True, wants_issue_emails=True
    )
    ShippingAddress.objects.create(
        user=paying,
        name="Ada Reader",
        line1="12 Harbour Road",
        city="Portland",
        region="ME",
        postal_code="04101",
        country="US",
    )
    Subscription.objects.create(
        member=paying,
        plan=print_plan,
        price=yearly,
        status="active",
        stripe_subscription_id="sub_ada",
        stripe_customer_id="cus_ada",
        stripe_item_id="si_ada",
        current_period_start=at(2026, 3, 1),
        current_period_end=at(2027, 3, 1),
        first_paid_at=at(2026, 3, 1),
        created_at=at(2026, 3, 1),
    )
    comped = users.create_user("bo@example.com", full_name="Bo Critic", wants_issue_emails=False)
    Subscription.objects.create(
        member=comped,
        plan=digital,
        status="complimentary",
        granted_by=staff,
        note="Reviewer",
        ends_at=at(2027, 1, 1),
        created_at=at(2026, 1, 5),
    )
    buyer = users.create_user("cy@example.com", full_name="Cy Giver")
    recipient = users.create_user("di@example.com", full_name="Di Lucky")
    gift = Gift.objects.create(
        buyer=buyer,
        buyer_email=buyer.email,
        recipient_email=recipient.email,
        recipient_name="Di",
        message="Happy birthday",
        plan=digital,
        months=6,
        amount=4800,
        status="redeemed",
        token_hash=hashlib.sha256(b"redeemed").hexdigest(),
        stripe_checkout_session_id="cs_gift_1",
        paid_at=at(2026, 2, 1),
        redeemed_by=recipient,
        redeemed_at=at(2026, 2, 3),
        created_at=at(2026, 2, 1),
    )
    Subscription.objects.create(
        member=recipient,
        plan=digital,
        status="gift",
        gift=gift,
        ends_at=at(2026, 8, 3),
        created_at=at(2026, 2, 3),
    )
    Gift.objects.create(
        buyer=buyer,
        buyer_email=buyer.email,
        recipient_email="someone@example.com",
        plan=digital,
        months=3,
        amount=2400,
        status="paid",
        token_hash=hashlib.sha256(b"waiting").hexdigest(),
        stripe_checkout_session_id="cs_gift_2",
        paid_at=at(2026, 4, 1),
        expires_at=at(2027, 4, 1),
        created_at=at(2026, 4, 1),
    )
    users.create_user("ed@example.com", full_name="Ed Free", wants_newsletter=True)
    return {"staff": staff, "paying": paying, "comped": comped, "recipient": recipient}
