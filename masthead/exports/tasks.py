from django_tasks import task


@task()
def export_magazine(export_id):
    """Write a requested export (see actions.run_export)."""
    from .actions import run_export

    export = run_export(export_id)
    return export.status if export else None
