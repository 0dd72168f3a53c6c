from typing import Any

from django.core.management.base import BaseCommand

from masthead.billing.reconciliation import reconcile


class Command(BaseCommand):
    help = "Compare every member's subscription with Stripe, repair drift, print what changed."

    def handle(self, *args: Any, **options: Any) -> None:
        lines = reconcile()
        for line in lines:
            self.stdout.write(line)
        self.stdout.write(self.style.SUCCESS(f"{len(lines)} change(s)."))
