"""Steps of publishing an issue that other apps carry out, as the publish
screen shows them.

Publishing an issue sets off work that belongs to apps above issues (the
articles' narrations, the issue's audio episode). Those apps report the
state of their part through the `issue_publication_steps` Wagtail hook: a
function of the issue that returns ReportedSteps. Issues never imports them.
"""

from dataclasses import dataclass

from wagtail import hooks

from .models import IssuePublicationStep

Status = IssuePublicationStep.Status


@dataclass(frozen=True)
class ReportedStep:
    name: str
    label: str
    status: str  # an IssuePublicationStep.Status value
    detail: str = ""
    error: str = ""
    attempts: int = 0

    def get_name_display(self):
        return self.label

    def get_status_display(self):
        return Status(self.status).label


def reported_steps(issue):
    """Every app's steps for `issue`, in hook order."""
    return [step for report in hooks.get_hooks("issue_publication_steps") for step in report(issue)]
