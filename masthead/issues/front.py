"""What the home page leads with: the current issue's cover and lead story,
the rest of the issue below it, then each section's latest that the issue
does not already show."""

from dataclasses import dataclass, field

from masthead.newsroom.models import ArticlePage, HomePage, SectionPage

from .models import IssuePage

# How many of the issue's other stories share the row under the lead.
SECONDARY_STORIES = 4
# A section strip: one story with its picture, two beside it.
SECTION_STORIES = 3


@dataclass
class Front:
    issue: IssuePage | None
    lead: ArticlePage | None
    secondary: list[ArticlePage]
    sections: list[tuple[SectionPage, list[ArticlePage]]] = field(default_factory=list)


def front_page(home: HomePage) -> Front:
    """The home page's stories, each shown once: the issue's first article
    leads, the next ones follow, and the section strips skip both."""
    issue = IssuePage.current()
    stories = issue.live_articles() if issue else []
    lead = stories[0] if stories else None
    secondary = stories[1 : 1 + SECONDARY_STORIES]
    shown = {article.pk for article in stories[: 1 + SECONDARY_STORIES]}
    sections = []
    for section in SectionPage.objects.live().child_of(home).specific():
        latest = section.latest_articles().exclude(pk__in=shown)
        articles = list(latest.prefetch_related("bylines__author")[:SECTION_STORIES])
        if articles:
            sections.append((section, articles))
    return Front(issue, lead, secondary, sections)
