"""The account page's newsletter choices, rendered from the mailings app so
that accounts (below it) need not import it."""

from django import template

register = template.Library()


@register.simple_tag
def newsletter_choices(user):
    """[(newsletter, subscribed)] for the newsletters open to `user`."""
    from masthead.mailings.actions import subscribed_newsletters

    if not user.is_authenticated:
        return []
    return list(subscribed_newsletters(user).items())
