from django_tasks import task


@task()
def run_import(run_id):
    """Write a confirmed import (see actions.carry_out_import)."""
    from .actions import carry_out_import

    run = carry_out_import(run_id)
    return run.status if run else None
