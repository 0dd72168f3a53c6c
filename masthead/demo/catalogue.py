"""Fixed facts of the demo magazine: its name, its writers and its issues."""

from dataclasses import dataclass
from datetime import date

MAGAZINE_NAME = "The Meridian Review"
PUBLISHER = "Meridian Press"
TAGLINE = "Independent reporting on power, money, the world and ideas. Twice a month."
VOLUME = 12
COLLECTION_NAME = "Demo magazine"

# Sections in the order a table of contents lists them.
SECTION_ORDER = [
    "politics",
    "finance",
    "foreign-affairs",
    "environment",
    "culture",
    "technology",
]

ACCESS_LEVELS = ["public", "members", "subscribers"]


@dataclass(frozen=True)
class DemoAuthor:
    slug: str
    name: str
    job_title: str
    bio: str
    colour: tuple[int, int, int]


AUTHORS = [
    DemoAuthor(
        "ana-pena",
        "Ana Peña",
        "Washington correspondent",
        "Ana Peña has covered Congress and the agencies for eleven years, most of them "
        "from the press gallery she jokes she now pays rent on. Before Washington she "
        "reported on state budgets in Sacramento. She writes about how laws are actually "
        "made, and who is in the room when they are.",
        (176, 58, 46),
    ),
    DemoAuthor(
        "jose-alvarez",
        "José Álvarez",
        "Foreign affairs editor",
        "José Álvarez edits the foreign pages from an office covered in maps that are "
        "mostly out of date. He spent a decade as a correspondent in Bogotá, Madrid and "
        "Nairobi, and still files from the road when a story calls for it.",
        (34, 92, 120),
    ),
    DemoAuthor(
        "margaret-okafor",
        "Margaret Okafor",
        "Finance editor",
        "Margaret Okafor trained as an economist, then decided she preferred explaining "
        "markets to forecasting them. She runs the finance section and reads central-bank "
        "minutes so that readers do not have to.",
        (32, 110, 78),
    ),
    DemoAuthor(
        "tomas-lindqvist",
        "Tomás Lindqvist",
        "Environment writer",
        "Tomás Lindqvist writes about rivers, farms, forests and the people who argue "
        "over them. He grew up on the Baltic coast, studied hydrology, and has waded into "
        "more floodplains than he can count.",
        (58, 120, 96),
    ),
    DemoAuthor(
        "priya-raman",
        "Priya Raman",
        "Technology correspondent",
        "Priya Raman reports on the companies that build the machines and on the "
        "regulators trying to keep up with them. A former software engineer, she still "
        "reads the source code when the press release does not add up.",
        (92, 70, 160),
    ),
    DemoAuthor(
        "daniel-whitcombe",
        "Daniel Whitcombe",
        "Culture critic",
        "Daniel Whitcombe reviews books, theatre and the occasional exhibition he was "
        "told to skip. He is at work, slowly, on a history of the provincial repertory "
        "stage.",
        (150, 62, 110),
    ),
    DemoAuthor(
        "helen-marsh",
        "Helen Marsh",
        "Contributing writer",
        "Helen Marsh is a contributing writer whose long-form reporting ranges from "
        "municipal finance to migrating birds. She lives in a small town she declines "
        "to name, for reasons that will be obvious to her neighbours.",
        (196, 128, 40),
    ),
]

AUTHORS_BY_SLUG = {author.slug: author for author in AUTHORS}


@dataclass(frozen=True)
class DemoIssue:
    """An issue of Volume 12. Its cover story is the article file numbered 01.

    `title` is the cover title when `lead` names that cover story's slug;
    otherwise the cover story's headline is the title.
    """

    number: int
    cover_date: date
    title: str = ""
    lead: str = ""
    published: bool = True


ISSUES = [
    DemoIssue(20, date(2026, 10, 15), "Lines on the Map", lead="st-louis-county-map"),
    DemoIssue(21, date(2026, 11, 1), "Who Picks the Harvest", lead="farm-labour-bill"),
    DemoIssue(22, date(2026, 11, 15), "The Border Bargain", lead="border-rail-bridges"),
    # The next issue, in preparation: a draft with no articles yet.
    DemoIssue(23, date(2026, 12, 1), "The Year Ahead", published=False),
]

ISSUES_BY_NUMBER = {issue.number: issue for issue in ISSUES}
