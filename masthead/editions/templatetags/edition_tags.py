from django import template
from django.urls import reverse

from masthead.access.rules import decide
from masthead.billing.actions import single_issue_offer

from ..models import Edition, EditionFormat
from ..views import sign_in_url, subscribe_url

register = template.Library()


@register.simple_tag(takes_context=True)
def issue_downloads(context, issue):
    """What the issue page offers this reader: download links when the access
    rule grants the issue, else where to get access. No file URL reaches a
    reader without access."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if issue is None or not getattr(issue, "live", False):
        return {"granted": False, "show": False}
    access = decide(user, issue)
    if not access:
        return {
            "granted": False,
            "show": True,
            "reason": access.reason,
            "sign_in_url": sign_in_url(request.get_full_path() if request else issue.url),
            "subscribe_url": subscribe_url(),
            # The issue on its own, when the publisher sells single issues.
            "single_issue_price": single_issue_offer(),
            "buy_url": reverse("billing:buy_issue", args=[issue.pk]),
        }
    built = {
        edition.format: edition
        for edition in Edition.objects.filter(issue=issue).exclude(file_name="")
    }
    links = []
    for value, label in EditionFormat.choices:
        edition = built.get(value)
        links.append(
            {
                "format": value,
                "label": label,
                "url": reverse("editions:download", args=[issue.pk, value]),
                "ready": edition is not None,
                "size": edition.size if edition else 0,
            }
        )
    return {"granted": True, "show": True, "links": links}
