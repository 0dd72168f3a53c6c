"""Every migration runs forward from the first release's database, with that
release's demo magazine and members in it, on the database engine this run is
configured with (SQLite in one CI run, PostgreSQL in the other).

The migrations run in a process of their own, as on an upgrade (see
conftest.py for how the fixture reaches each engine).
"""

import io
import json

import pytest
from django.core.management import call_command

from tests.upgrades.first_release import fixture_counts
from tests.upgrades.support import manage, run


def test_every_migration_runs_forward_from_the_first_release(first_release):
    env, fixture = first_release
    before = fixture_counts(fixture)
    assert before["articles"] == 24 and before["members"] == 6  # the demo and its readers

    migrated = manage(env, "migrate", "--noinput")
    # Migrations written since the first release, not only a no-op run.
    assert "Applying newsroom.0003_magazine_document... OK" in migrated
    assert "Applying access.0002_teaser... OK" in migrated
    plan = manage(env, "showmigrations", "--plan")
    assert "[ ]" not in plan

    report = json.loads(run(env, "-m", "tests.upgrades.first_release", "report"))
    assert report["counts"] == before
    assert report["members"] == {
        "cancelled@example.org": {
            "subscription": "active",
            "plan": "digital",
            "reads the gated article": True,
        },
        "contributor@example.org": {
            "subscription": "complimentary",
            "plan": "digital",
            "reads the gated article": True,
        },
        "free.member@example.org": {
            "subscription": None,
            "plan": None,
            "reads the gated article": False,
        },
        "monthly.digital@example.org": {
            "subscription": "active",
            "plan": "digital",
            "reads the gated article": True,
        },
        "refunded@example.org": {
            "subscription": "refunded",
            "plan": "digital",
            "reads the gated article": False,
        },
        "yearly.print@example.org": {
            "subscription": "active",
            "plan": "digital-print",
            "reads the gated article": True,
        },
    }

    pages = report["pages"]
    assert {name: page["status"] for name, page in pages.items()} == {
        "home": 200,
        "gated article, anonymous": 200,
        "issue": 200,
        "gated article, subscriber": 200,
    }
    gated = report["gated article"]
    assert gated["title"] in pages["home"]["body"]
    assert gated["title"] in pages["gated article, anonymous"]["body"]
    assert gated["last paragraph"] not in pages["gated article, anonymous"]["body"]
    assert gated["last paragraph"] in pages["gated article, subscriber"]["body"]
    assert report["issue"] in pages["issue"]["body"]


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    """As `make test` checks before the suite, so that a run of pytest alone
    fails on a model change whose migration was not written."""
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
