"""Querysets whose bulk writes say what they changed.

`post_save` and `post_delete` follow a model's `save()` and `delete()`
(a queryset's `delete()` sends `post_delete` for each row too), but
`QuerySet.update()`, `bulk_create()` and `bulk_update()` send nothing. A
model whose changes others must hear of (a subscription: a member's
entitlement) uses a ReportingQuerySet, which sends `core.signals.rows_changed`
once the rows are written, naming them by `report_field`.
"""

from collections.abc import Iterable
from typing import Any, TypeVar

from django.db import models

from .signals import rows_changed

M = TypeVar("M", bound=models.Model)


class ReportingQuerySet(models.QuerySet[M]):
    # The field whose values name the changed rows to receivers.
    report_field = "pk"

    def _report(self, keys: Iterable[Any]) -> None:
        found = {key for key in keys if key is not None}
        if found:
            rows_changed.send(sender=self.model, keys=found)

    def update(self, **kwargs: Any) -> int:
        # The rows as they are before: an update may move them out of the
        # filter (or to another key).
        keys = set(self.values_list(self.report_field, flat=True))
        count = super().update(**kwargs)
        if self.report_field in kwargs:
            keys.add(kwargs[self.report_field])
        self._report(keys)
        return count

    def bulk_create(self, objs: Iterable[M], *args: Any, **kwargs: Any) -> list[M]:
        created = super().bulk_create(objs, *args, **kwargs)
        self._report(getattr(obj, self.report_field) for obj in created)
        return created

    def bulk_update(
        self, objs: Iterable[M], fields: Iterable[str], batch_size: int | None = None
    ) -> int:
        objs = list(objs)
        # Their keys as stored, and as they will be.
        keys = set(
            self.model._default_manager.filter(pk__in=[obj.pk for obj in objs]).values_list(
                self.report_field, flat=True
            )
        )
        count = super().bulk_update(objs, fields, batch_size=batch_size)
        self._report(keys | {getattr(obj, self.report_field) for obj in objs})
        return count
