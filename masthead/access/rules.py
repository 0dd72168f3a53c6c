"""The one access decision.

`decide(user, content)` answers whether someone gets the full thing: an
article, its narration, an issue's editions, a feed item. Every surface that
shows gated content asks it; nothing else decides.
"""

from dataclasses import dataclass

from masthead.newsroom.models import AccessLevel, ArticlePage


@dataclass(frozen=True)
class Access:
    granted: bool
    # Why: "public", "member", "subscriber", "staff", "sign-in-required",
    # "subscription-required".
    reason: str

    def __bool__(self):
        return self.granted


def content_level(content):
    """The access level that applies to a piece of content."""
    if isinstance(content, ArticlePage):
        return content.effective_access_level
    article = getattr(content, "article", None)
    if isinstance(article, ArticlePage):
        return article.effective_access_level
    # Issues and their editions belong to subscribers.
    return AccessLevel.SUBSCRIBERS


def decide(user, content):
    level = content_level(content)
    if level == AccessLevel.PUBLIC:
        return Access(True, "public")
    if user is None or not user.is_authenticated:
        return Access(False, "sign-in-required")
    if user.is_staff:
        return Access(True, "staff")
    if level == AccessLevel.MEMBERS:
        return Access(True, "member")
    from masthead.billing.entitlements import current_entitlement

    if current_entitlement(user) is not None:
        return Access(True, "subscriber")
    return Access(False, "subscription-required")
