"""Failed background tasks in the Wagtail admin: what failed, with its
error, and a button to run it again. Either task backend (see taskqueue)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .taskqueue import MAX_RECOVERIES, failed_tasks, retry_failed_task, uses_rq


def may_see_tasks(user):
    return user.is_active and (user.is_superuser or user.is_staff)


class FailedTasksView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "core/admin/failed_tasks.html"
    page_title = "Failed tasks"
    header_icon = "warning"

    def dispatch(self, request, *args, **kwargs):
        if not may_see_tasks(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [{"url": "", "label": self.page_title}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            tasks=failed_tasks(limit=200),
            backend="RQ on Redis" if uses_rq() else "the database queue",
            max_recoveries=MAX_RECOVERIES,
        )
        return context

    def post(self, request):
        backend, task_id = request.POST.get("backend", ""), request.POST.get("task", "")
        if retry_failed_task(backend, task_id):
            messages.success(request, f"Task {task_id} is back in the queue.")
        else:
            messages.error(request, f"Task {task_id} is no longer failed; nothing was retried.")
        return redirect("core_admin:failed_tasks")
