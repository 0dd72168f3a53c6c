from django import template

from ..actions import current_holds
from ..views import includes_print

register = template.Library()


@register.simple_tag(takes_context=True)
def print_delivery(context):
    """The account page's print box: whether the member gets print copies and
    their current vacation holds."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"entitled": False, "holds": []}
    return {"entitled": includes_print(user), "holds": current_holds(user)}
