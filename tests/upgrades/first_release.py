"""The first release's database (first_release.sqlite3.xz) and what the
migration test asks of it once migrated.

Run in a process of its own, configured by DATABASE_URL, so that the test's
own database (already at today's schema) is never touched:

    python -m tests.upgrades.first_release load FIXTURE.sqlite3
        PostgreSQL only: migrate the empty database to exactly the migrations
        the fixture records, then copy every row of the fixture into it.
    python -m tests.upgrades.first_release report
        Counts, each member's subscription and access, and pages rendered by
        Django's test client, as JSON on stdout.
"""

import datetime
import io
import json
import sqlite3
import sys

# Content in the fixture that the migration test counts before and after, as
# (table in the first release's schema, model today).
COUNTED = {
    "articles": ("newsroom_articlepage", "newsroom.ArticlePage"),
    "issues": ("issues_issuepage", "issues.IssuePage"),
    "authors": ("newsroom_author", "newsroom.Author"),
    "images": ("newsroom_creditedimage", "newsroom.CreditedImage"),
    "members": ("accounts_user", "accounts.User"),
    "subscriptions": ("billing_subscription", "billing.Subscription"),
    "payments": ("billing_payment", "billing.Payment"),
    "refunds": ("billing_refund", "billing.Refund"),
    "shipping addresses": ("accounts_shippingaddress", "accounts.ShippingAddress"),
}

# Derived rows that PostgreSQL keeps in another form (tsvector columns instead
# of FTS5 tables); the search index is rebuilt from the content by update_index.
NOT_COPIED = {"django_migrations", "wagtailsearch_indexentry"}


def fixture_counts(path):
    """The COUNTED figures, read from the fixture's own tables."""
    connection = sqlite3.connect(path)
    try:
        return {
            name: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            for name, (table, _model) in COUNTED.items()
        }
    finally:
        connection.close()


def recorded_migrations(path):
    connection = sqlite3.connect(path)
    try:
        return set(connection.execute("SELECT app, name FROM django_migrations").fetchall())
    finally:
        connection.close()


def load(path):
    """Give the configured, empty PostgreSQL database the fixture's schema and
    rows: today's migration files up to the fixture's (they have not changed
    since), then its rows table by table."""
    from django.db import connection, transaction
    from django.db.migrations.executor import MigrationExecutor

    assert connection.vendor == "postgresql", connection.vendor
    recorded = recorded_migrations(path)
    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    # Migrations that a squashed one has replaced since are not in the graph of
    # an empty database; migrating to the last of each app's applies the squash.
    known = recorded & set(graph.nodes)
    targets = [
        node for node in known if not any(child in known for child in graph.node_map[node].children)
    ]
    executor.migrate(targets)
    applied = set(MigrationExecutor(connection).loader.applied_migrations)
    assert applied == recorded, sorted(applied ^ recorded)

    source = sqlite3.connect(path)
    tables = [
        name
        for (name,) in source.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        if name not in NOT_COPIED
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns"
            " WHERE table_schema = 'public'"
        )
        types = {}
        for table, column, data_type in cursor.fetchall():
            types.setdefault(table, {})[column] = data_type
    tables = [name for name in tables if name in types]
    with transaction.atomic(), connection.cursor() as cursor:
        # The data migrations (default plans, Wagtail's root page) wrote rows
        # that the fixture holds too, as that release left them.
        cursor.execute(
            "TRUNCATE {} RESTART IDENTITY CASCADE".format(
                ", ".join(connection.ops.quote_name(name) for name in tables)
            )
        )
        for table in tables:
            rows = source.execute(f'SELECT * FROM "{table}"')
            columns = [description[0] for description in rows.description]
            column_types = [types[table][column] for column in columns]
            converted = [
                [convert(value, kind) for value, kind in zip(row, column_types, strict=True)]
                for row in rows
            ]
            if not converted:
                continue
            cursor.executemany(
                "INSERT INTO {} ({}) VALUES ({})".format(
                    connection.ops.quote_name(table),
                    ", ".join(connection.ops.quote_name(column) for column in columns),
                    ", ".join(["%s"] * len(columns)),
                ),
                converted,
            )
            if types[table].get("id") in ("integer", "bigint"):
                quoted = connection.ops.quote_name(table)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {quoted}",
                    [quoted],
                )
    source.close()


def convert(value, kind):
    """A value as SQLite keeps it, as PostgreSQL's column takes it."""
    if value is None:
        return None
    if kind == "boolean":
        return bool(value)
    if kind == "interval":
        return datetime.timedelta(microseconds=value)
    if kind in ("json", "jsonb"):
        from psycopg.types.json import Jsonb

        return Jsonb(json.loads(value))
    return value


def stand_in_pictures():
    """The fixture keeps the database only: give each picture a file of its
    recorded size where the storage has none, so that pages render."""
    from django.core.files.base import ContentFile
    from PIL import Image

    from masthead.newsroom.models import CreditedImage

    for image in CreditedImage.objects.all():
        storage = image.file.storage
        if storage.exists(image.file.name):
            continue
        buffer = io.BytesIO()
        Image.new("RGB", (image.width, image.height), "#888").save(buffer, "JPEG")
        storage.save(image.file.name, ContentFile(buffer.getvalue()))


def report():
    from django.apps import apps
    from django.test import Client

    from masthead.access.rules import decide
    from masthead.accounts.models import User
    from masthead.issues.models import IssuePage
    from masthead.newsroom.models import AccessLevel, ArticlePage

    stand_in_pictures()
    counts = {
        name: apps.get_model(model).objects.count() for name, (_table, model) in COUNTED.items()
    }
    articles = ArticlePage.objects.live().specific()
    gated = next(
        article for article in articles if article.effective_access_level == AccessLevel.SUBSCRIBERS
    )
    members = {}
    for member in User.objects.filter(is_staff=False).order_by("email"):
        subscription = member.subscriptions.order_by("-created_at").first()
        members[member.email] = {
            "subscription": subscription.status if subscription else None,
            "plan": subscription.plan.code if subscription else None,
            "reads the gated article": decide(member, gated).granted,
        }
    client = Client()
    issue = IssuePage.objects.live().order_by("-first_published_at").first()
    pages = {}
    for name, url in (
        ("home", "/"),
        ("gated article, anonymous", gated.url),
        ("issue", issue.url),
    ):
        response = client.get(url)
        pages[name] = {"status": response.status_code, "body": response.content.decode()}
    subscriber = User.objects.get(email="monthly.digital@example.org")
    client.force_login(subscriber)
    response = client.get(gated.url)
    pages["gated article, subscriber"] = {
        "status": response.status_code,
        "body": response.content.decode(),
    }
    return {
        "counts": counts,
        "members": members,
        "gated article": {"title": gated.title, "last paragraph": last_paragraph(gated)},
        "issue": issue.title,
        "pages": pages,
    }


def last_paragraph(article):
    """The text of the article body's last paragraph, which only a reader with
    access receives."""
    from django.utils.html import strip_tags

    paragraphs = [block for block in article.body if block.block_type == "paragraph"]
    return strip_tags(str(paragraphs[-1].value.source)).strip()[:80]


if __name__ == "__main__":
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "masthead.settings")
    django.setup()
    command = sys.argv[1]
    if command == "load":
        load(sys.argv[2])
    elif command == "report":
        json.dump(report(), sys.stdout)
    else:
        raise SystemExit(f"unknown command {command!r}")
