"""What a member's subscription entitles them to, for `access.decide`.

Contract: `current_entitlement(user)` returns an `Entitlement` when the user
holds something that grants subscriber access now (active, trialing,
cancelled inside the paid period, payment failed within the grace period,
complimentary, gift), and None otherwise (lapsed, refunded, past grace,
anonymous).
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Entitlement:
    kind: str  # "paid", "trial", "complimentary", "gift"
    plan_code: str
    includes_print: bool
    ends_at: datetime | None


def current_entitlement(user):
    # Filled in by the billing work (issue 3); until then nobody subscribes.
    return None
