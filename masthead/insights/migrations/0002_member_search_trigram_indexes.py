"""Trigram indexes for the members list's search on PostgreSQL.

The search is `email__icontains` or `full_name__icontains`, which PostgreSQL
runs as `UPPER(column::text) LIKE UPPER('%text%')`: a GIN trigram index on
that same expression answers it without reading every member. Other
databases have no pg_trgm and keep reading every row.
"""

from django.conf import settings
from django.db import migrations

COLUMNS = ("email", "full_name")


def index_name(column):
    return f"insights_member_{column}_trgm"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model(settings.AUTH_USER_MODEL)._meta.db_table)
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {schema_editor.quote_name(index_name(column))} "
            f"ON {table} USING gin ((UPPER({schema_editor.quote_name(column)}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(
            f"DROP INDEX IF EXISTS {schema_editor.quote_name(index_name(column))}"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(create_indexes, drop_indexes, elidable=False)]
