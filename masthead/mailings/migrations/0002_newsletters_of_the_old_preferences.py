"""The two newsletters the account page offered before newsletters were
defined: new-issue emails and the editors' newsletter. Members' old choices
stay in the account's fields (`Newsletter.legacy_field`) until they choose
again."""

from django.db import migrations


def create(apps, schema_editor):
    Newsletter = apps.get_model("mailings", "Newsletter")
    Newsletter.objects.get_or_create(
        slug="new-issue",
        defaults={
            "name": "New issue",
            "kind": "issue",
            "audience": "subscribers",
            "default_on": True,
            "description": "An email when a new issue is out, with its contents.",
            "sort_order": 0,
        },
    )
    Newsletter.objects.get_or_create(
        slug="editors-letter",
        defaults={
            "name": "The editors' newsletter",
            "kind": "letter",
            "audience": "everyone",
            "default_on": False,
            "description": "A weekly letter from the editors.",
            "sort_order": 1,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("mailings", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
