"""Digital and Digital + Print, monthly and yearly, in US dollars: the plans a
new magazine starts with (the publisher edits them in the admin)."""

from django.db import migrations

DEFAULT_PLANS = [
    ("digital", "Digital", False, 10, 800, 8000,
     "Every article, the full archive, audio narration and the EPUB and PDF editions."),
    ("digital-print", "Digital + Print", True, 20, 1400, 14000,
     "Everything in Digital, and the printed magazine mailed to you, 24 issues a year."),
]


def create_default_plans(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    Price = apps.get_model("billing", "Price")
    if Plan.objects.exists():
        return
    for code, name, includes_print, order, monthly, yearly, description in DEFAULT_PLANS:
        plan = Plan.objects.create(
            code=code,
            name=name,
            description=description,
            includes_print=includes_print,
            sort_order=order,
        )
        Price.objects.create(plan=plan, interval="month", amount=monthly, currency="usd")
        Price.objects.create(plan=plan, interval="year", amount=yearly, currency="usd")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_default_plans, migrations.RunPython.noop)]
