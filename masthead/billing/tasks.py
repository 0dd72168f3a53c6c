from django_tasks import task


@task()
def reconcile_subscriptions() -> object:
    """Nightly: repair drift between Stripe and Masthead. Idempotent."""
    from .reconciliation import reconcile

    return reconcile()


@task()
def complete_refund(refund_id: int) -> str:
    """Finish a refund request; safe to run any number of times (fixed
    idempotency keys, and every step checks what is done)."""
    from . import actions

    refund = actions.carry_out_refund(refund_id)
    status: str = refund.status
    return status
