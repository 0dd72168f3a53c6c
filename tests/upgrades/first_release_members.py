"""Members of the first release's fixture, made through that release's own
actions: run by make_first_release_fixture.sh inside a checkout of it
(`manage.py shell < first_release_members.py`), never against today's code.

Readers in each state the access rule knows: a free member, monthly and yearly
subscribers (one with print and an address), one who cancelled, one refunded,
and a complimentary grant."""

from masthead.accounts.models import User
from masthead.billing import actions, testmode
from masthead.billing.models import Plan, Price

ADDRESS = {
    "name": "Ada Reader",
    "address": {
        "line1": "12 Harbour Street",
        "line2": "",
        "city": "Portland",
        "state": "ME",
        "postal_code": "04101",
        "country": "US",
    },
}


def subscribe(email, plan_code, interval, shipping=None):
    member = User.objects.create_user(email)
    price = Price.objects.get(plan__code=plan_code, interval=interval)
    session_id = testmode.new_session(member=member.pk, price=price.pk)
    testmode.complete_checkout(session_id, shipping=shipping)
    return member


User.objects.create_user("free.member@example.org")
subscribe("monthly.digital@example.org", "digital", "month")
subscribe("yearly.print@example.org", "digital-print", "year", shipping=ADDRESS)
actions.cancel_subscription(subscribe("cancelled@example.org", "digital", "month"))
actions.refund_subscription(subscribe("refunded@example.org", "digital", "month"))
actions.grant_complimentary(
    User.objects.create_user("contributor@example.org"),
    Plan.objects.get(code="digital"),
    note="Contributor",
)
print("Members:", User.objects.filter(is_staff=False).count())
