"""`/health/`: whether this app server can reach what it needs.

One cheap round trip to each of the database, the cache, the task queue and
the media storages, timed. 200 when all answer, 503 when any does not, so a
load balancer takes the server out of rotation. Never cached.

The public gets the status alone (`ok` or `failing`): which backends run
where, how long the queue is, are the operator's business. The report of
each check goes to staff and to the addresses in HEALTH_DETAIL_ADDRESSES (a
monitor's). Errors show only their type even there: the details (host names)
go to the log.
"""

import ipaddress
import logging
import os
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, storages
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .clients import client_ip

logger = logging.getLogger(__name__)


def check_database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def check_cache():
    token = secrets.token_hex(8)
    cache.set("health:probe", token, 30)
    if cache.get("health:probe") != token:
        raise RuntimeError("the cache did not return what was written")
    return {"backend": settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]}


def check_queue():
    backend = settings.TASKS["default"]["BACKEND"]
    if "RQBackend" in backend:
        import django_rq
        from rq import Worker

        queues = [django_rq.get_queue(name) for name in settings.RQ_QUEUES]
        connection = queues[0].connection
        connection.ping()
        return {
            "backend": "rq",
            "waiting": sum(queue.count for queue in queues),
            "workers": Worker.count(connection=connection),
        }
    if "DatabaseBackend" in backend:
        from django_tasks_db.models import DBTaskResult

        oldest = (
            DBTaskResult.objects.ready()
            .order_by("enqueued_at")
            .values_list("enqueued_at", flat=True)
            .first()
        )
        return {
            "backend": "database",
            "waiting": DBTaskResult.objects.ready().count(),
            "oldest_waiting_s": round((timezone.now() - oldest).total_seconds()) if oldest else 0,
        }
    return {"backend": backend.rsplit(".", 1)[-1]}


def check_storage(alias):
    storage = storages[alias]
    if isinstance(storage, FileSystemStorage):
        # The folder appears with the first upload; until then its parent
        # must be writable.
        folder = Path(storage.location)
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
        return {"backend": "local"}
    storage.exists("health-check")  # one HEAD request; raises when unreachable
    return {"backend": type(storage).__name__}


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "queue": check_queue,
    "storage": lambda: {alias: check_storage(alias)["backend"] for alias in ("default", "private")},
}


def run_checks():
    results = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            detail = check()
            result = {"ok": True, **(detail or {})}
        except Exception as error:
            logger.warning("Health check %s failed", name, exc_info=True)
            result = {"ok": False, "error": type(error).__name__}
        result["ms"] = round((time.perf_counter() - started) * 1000, 2)
        results[name] = result
    return results


def may_see_details(request):
    if request.user.is_authenticated and request.user.is_staff:
        return True
    try:
        address = ipaddress.ip_address(client_ip(request))
    except ValueError:
        return False
    for allowed in settings.HEALTH_DETAIL_ADDRESSES:
        try:
            if address in ipaddress.ip_network(allowed, strict=False):
                return True
        except ValueError:
            logger.warning("HEALTH_DETAIL_ADDRESSES: %r is not an address or network", allowed)
    return False


@never_cache
@require_safe
def health(request):
    checks = run_checks()
    healthy = all(check["ok"] for check in checks.values())
    status = "ok" if healthy else "failing"
    if may_see_details(request):
        response = JsonResponse({"status": status, "checks": checks})
    else:
        response = HttpResponse(status, content_type="text/plain; charset=utf-8")
    response.status_code = 200 if healthy else 503
    response["Cache-Control"] = "no-store, no-cache, max-age=0"
    return response
