from typing import Any

from django.core.management.base import BaseCommand

from masthead.billing.actions import ensure_default_plans


class Command(BaseCommand):
    help = "Create Digital and Digital + Print (monthly and yearly) when no plan exists."

    def handle(self, *args: Any, **options: Any) -> None:
        plans = ensure_default_plans()
        self.stdout.write(f"Created {len(plans)} plan(s).")
