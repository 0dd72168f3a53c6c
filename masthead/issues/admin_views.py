"""The editors' side of issues in the Wagtail admin: what the coming issues
still need, and "Publish issue" with its progress.

Apps above issues add what they know to these screens through Wagtail hooks,
so issues never imports them:

- `upcoming_issues_rows`: a function of the list's rows (UpcomingIssue) that
  sets attributes on them for the template (printing: `print_run`);
- `issue_publish_context`: a function of the issue that returns a dict added
  to the publish screen's context (editions: `editions`; printing:
  `print_run`).
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.generic import TemplateView
from wagtail import hooks
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin

from .actions import publish_issue
from .models import IssueIndexPage, IssuePage, IssuePublication, IssuePublicationStep
from .steps import reported_steps
from .upcoming import upcoming_issues


class UpcomingIssuesView(WagtailAdminTemplateMixin, TemplateView):
    template_name = "issues/admin/upcoming.html"
    page_title = "Upcoming issues"
    header_icon = "date"

    def get_breadcrumbs_items(self):
        return [*self.breadcrumbs_items, {"url": "", "label": "Upcoming issues"}]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rows = upcoming_issues()
        issue_ids = [row.issue.pk for row in rows if row.issue]
        publications = IssuePublication.objects.filter(issue_id__in=issue_ids).in_bulk(
            field_name="issue_id"
        )
        for row in rows:
            if row.issue:
                row.publication = publications.get(row.issue.pk)
        for annotate in hooks.get_hooks("upcoming_issues_rows"):
            annotate(rows)
        archive = IssueIndexPage.objects.first()
        context["rows"] = rows
        context["add_issue_url"] = (
            reverse("wagtailadmin_pages:add", args=("issues", "issuepage", archive.pk))
            if archive
            else ""
        )
        return context


class PublishIssueView(WagtailAdminTemplateMixin, TemplateView):
    """GET: the issue's publication and its steps (refreshing while they
    run). POST: publish, or retry what failed."""

    template_name = "issues/admin/publish.html"
    header_icon = "upload"

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.issue = get_object_or_404(IssuePage, pk=kwargs["pk"])

    def dispatch(self, request, *args, **kwargs):
        if not self.issue.permissions_for_user(request.user).can_publish():
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_title(self):
        return f"Publish issue: {self.issue.title} ({self.issue.label})"

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": reverse("issues_admin:upcoming"), "label": "Upcoming issues"},
            {"url": "", "label": f"Publish {self.issue.label}"},
        ]

    def get_context_data(self, **kwargs):
        from .upcoming import check_issue

        context = super().get_context_data(**kwargs)
        publication = IssuePublication.objects.filter(issue=self.issue).first()
        problems, notes = check_issue(self.issue)
        # Narration and the audio episode, as the audio app reports them.
        others = reported_steps(self.issue)
        running = IssuePublicationStep.Status.RUNNING
        context.update(
            {
                "issue": self.issue,
                "publication": publication,
                "steps": publication.ordered_steps() if publication else [],
                "reported_steps": others,
                "problems": problems,
                "notes": notes,
                "edit_url": reverse("wagtailadmin_pages:edit", args=[self.issue.pk]),
                "refresh": (publication is not None and not publication.is_finished)
                or any(step.status == running for step in others),
            }
        )
        for more_context in hooks.get_hooks("issue_publish_context"):
            context.update(more_context(self.issue))
        return context

    def post(self, request, *args, **kwargs):
        publication = publish_issue(self.issue, request.user)
        if publication.status == IssuePublication.Status.DONE:
            messages.info(request, "This issue is already published; nothing was repeated.")
        else:
            messages.success(request, f"Publishing {self.issue.title}.")
        return redirect("issues_admin:publish", pk=self.issue.pk)
