"""A small history of a magazine's members with answers computed by hand.

Publisher time zone UTC; "now" is 2026-07-15 12:00. Prices: Digital monthly
$8.00, Digital yearly $120.00 ($10.00 a month), Digital monthly EUR 7.00,
Print monthly $15.00.

- Ada (A): Digital yearly, first paid Jan 10. Running.
- Ben (B): Digital monthly from Jan 5; switched to Print monthly Mar 20.
- Cleo (C): Digital monthly from Feb 1 10:00; cancelled Apr 10, the paid
  period ended May 1 00:00.
- Dora (D): Digital monthly in euros from Mar 1 10:00; refunded on day 59
  (Apr 29).
- Eve (E): a trial that converted: trial ended and first paid Feb 15.
- Finn (F): a trial that did not: ended Mar 10 unpaid.
- Gus (G): given 6 months of Digital ($48.00), bought Feb 20, redeemed Feb 25.
- Hana (H): Digital monthly Jan 15 to Feb 15, back from Apr 10.
"""

from datetime import UTC, datetime

from django.contrib.auth import get_user_model

NOW = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)


def at(month, day, hour=10, minute=0):
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def build_history():
    from masthead.billing.models import (
        BillingAuditLog,
        Gift,
        Payment,
        Plan,
        Price,
        Refund,
        Subscription,
    )

    User = get_user_model()
    # The default plans a migration made: this publisher sells its own.
    Price.objects.all().delete()
    Plan.objects.all().delete()
    digital = Plan.objects.create(code="digital", name="Digital", sort_order=1)
    print_plan = Plan.objects.create(code="print", name="Print", includes_print=True, sort_order=2)
    monthly = Price.objects.create(plan=digital, interval="month", amount=800, currency="usd")
    yearly = Price.objects.create(plan=digital, interval="year", amount=12000, currency="usd")
    euro = Price.objects.create(plan=digital, interval="month", amount=700, currency="eur")
    print_monthly = Price.objects.create(
        plan=print_plan, interval="month", amount=1500, currency="usd"
    )
    S = Subscription.Status
    people = {}
    for key, name in [
        ("A", "Ada"),
        ("B", "Ben"),
        ("C", "Cleo"),
        ("D", "Dora"),
        ("E", "Eve"),
        ("F", "Finn"),
        ("G", "Gus"),
        ("H", "Hana"),
    ]:
        people[key] = User.objects.create_user(
            email=f"{name.lower()}@example.com", full_name=f"{name} Reader"
        )
        User.objects.filter(pk=people[key].pk).update(date_joined=at(1, 2))
    count = iter(range(1, 1000))

    def subscribe(member, price, first_paid_at, status=S.ACTIVE, **fields):
        n = next(count)
        return Subscription.objects.create(
            member=member,
            plan=price.plan,
            price=price,
            status=status,
            stripe_subscription_id=f"sub_{n}",
            stripe_customer_id=f"cus_{n}",
            first_paid_at=first_paid_at,
            created_at=fields.pop("created_at", first_paid_at),
            **fields,
        )

    def pay(subscription, when, amount, currency="usd", refunded=0):
        return Payment.objects.create(
            subscription=subscription,
            member=subscription.member,
            stripe_invoice_id=f"in_{next(count)}",
            amount=amount,
            currency=currency,
            amount_refunded=refunded,
            paid_at=when,
        )

    a = subscribe(
        people["A"], yearly, at(1, 10), current_period_end=datetime(2027, 1, 10, 10, tzinfo=UTC)
    )
    pay(a, at(1, 10), 12000)

    b = subscribe(people["B"], print_monthly, at(1, 5), current_period_end=at(8, 5))
    BillingAuditLog.objects.create(
        subscription=b,
        member=people["B"],
        action="plan_switched",
        detail={"old_price_id": monthly.pk, "new_price_id": print_monthly.pk},
        created_at=at(3, 20),
    )
    pay(b, at(1, 5), 800)
    pay(b, at(3, 5), 800)

    c = subscribe(
        people["C"],
        monthly,
        at(2, 1),
        status=S.CANCELED,
        canceled_at=at(4, 10),
        cancel_at_period_end=True,
        current_period_end=at(5, 1, 0),
        ended_at=at(5, 1, 0),
    )
    pay(c, at(2, 1), 800)

    d = subscribe(
        people["D"], euro, at(3, 1), status=S.REFUNDED, ended_at=at(4, 29), canceled_at=at(4, 29)
    )
    pay(d, at(3, 1), 700, "eur", refunded=700)
    Refund.objects.create(
        subscription=d,
        member=people["D"],
        amount=700,
        amount_refunded=700,
        currency="eur",
        status=Refund.Status.SUCCEEDED,
        requested_at=at(4, 29),
        completed_at=at(4, 29),
    )

    e = subscribe(
        people["E"],
        monthly,
        at(2, 15),
        trial_end=at(2, 15),
        created_at=at(2, 1),
        current_period_end=at(8, 15),
    )
    pay(e, at(2, 15), 800)

    subscribe(
        people["F"],
        monthly,
        None,
        status=S.CANCELED,
        trial_end=at(3, 10),
        created_at=at(2, 24),
        ended_at=at(3, 10),
    )

    gift = Gift.objects.create(
        buyer_email="giver@example.com",
        recipient_email="gus@example.com",
        plan=digital,
        months=6,
        amount=4800,
        currency="usd",
        status=Gift.Status.REDEEMED,
        paid_at=at(2, 20),
        redeemed_by=people["G"],
        redeemed_at=at(2, 25),
        created_at=at(2, 20),
    )
    Payment.objects.create(gift=gift, amount=4800, currency="usd", paid_at=at(2, 20))
    Subscription.objects.create(
        member=people["G"],
        plan=digital,
        status=S.GIFT,
        gift=gift,
        ends_at=at(8, 25),
        created_at=at(2, 25),
    )

    h1 = subscribe(
        people["H"],
        monthly,
        at(1, 15),
        status=S.CANCELED,
        canceled_at=at(2, 1),
        cancel_at_period_end=True,
        current_period_end=at(2, 15),
        ended_at=at(2, 15),
    )
    pay(h1, at(1, 15), 800)
    h2 = subscribe(people["H"], monthly, at(4, 10), current_period_end=at(8, 10))
    pay(h2, at(4, 10), 800)

    return {
        "people": people,
        "plans": {"digital": digital, "print": print_plan},
        "prices": {"monthly": monthly, "yearly": yearly, "euro": euro, "print": print_monthly},
    }
