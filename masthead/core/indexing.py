"""Search and reference indexing held back during a bulk load and done in
one pass afterwards (the demo loader, the importers): the per-save index
tasks would otherwise cost a task, and its queries, for every row saved."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db.models import Model
from django.db.models.signals import post_save
from modelsearch import index as search_index
from modelsearch.signal_handlers import post_save_signal_handler
from wagtail.models import ReferenceIndex
from wagtail.signal_handlers import disable_reference_index_auto_update


@contextmanager
def quiet_indexing() -> Iterator[None]:
    """Skip the per-save search and reference index tasks; the caller
    indexes what it saved with `index_objects` afterwards."""
    muted = [
        model
        for model in search_index.get_indexed_models()
        if post_save.disconnect(post_save_signal_handler, sender=model)
    ]
    try:
        with disable_reference_index_auto_update():
            yield
    finally:
        for model in muted:
            post_save.connect(post_save_signal_handler, sender=model)


def index_objects(objects: Iterable[Model]) -> None:
    for obj in objects:
        search_index.insert_or_update_object(obj)
        if ReferenceIndex.is_indexed(type(obj)):
            ReferenceIndex.create_or_update_for_object(obj)
