from typing import Any

from django import template

from masthead.billing import account

register = template.Library()


@register.simple_tag(takes_context=True)
def account_billing(context: template.Context) -> Any:
    """The member's billing for the account page: `{% account_billing as billing %}`."""
    request = context.get("request")
    return account.summary(getattr(request, "user", None))
