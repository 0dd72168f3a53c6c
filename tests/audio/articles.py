"""Article bodies for narration tests."""

from tests.factories import make_article, make_image, paragraph

SENTENCES = [
    "Officials said on Tuesday that the talks would resume in St. Louis next month.",
    "The administration has proposed $200 million for new inspection stations.",
    "Sec. Blinken called the plan “a start, not an end.”",
    "Critics in the U.S. Senate were unconvinced, and said so at length.",
    "Turnout in the 1990s was higher, according to a 2023–24 study by the university.",
    "A 50 km stretch of road will be rebuilt by Dec. 28, 2026, at a cost of €1.2 billion.",
    "Dr. Ana Peña, who holds a Ph.D. in hydrology, said the river had fallen 3.5% since 2019.",
    "Nobody expected the vote to be close, and for a while it was not.",
]


def paragraph_text(n, sentences=4):
    """Five sentences, none shared with another paragraph."""
    chosen = [SENTENCES[(n + i) % len(SENTENCES)] for i in range(sentences)]
    chosen = [f"In part {n}, {s[0].lower()}{s[1:]}" if s[:2] != "Dr" else s for s in chosen]
    chosen = [s.replace("Dr. Ana", f"Dr. Ana {n}") for s in chosen]
    return f"Paragraph {n} begins here. " + " ".join(chosen)


def long_body(paragraphs=14, image=None):
    """About 1,000 words: paragraphs, a heading, a list, quotes and a figure."""
    body = []
    for n in range(paragraphs):
        if n == 4:
            body.append(("heading", "What happens next"))
        if n == 6:
            body.append(
                (
                    "block_quote",
                    {"text": "We have waited long enough.", "attribution": "A farmer in Iowa"},
                )
            )
            body.append(
                ("pull_quote", {"text": "A pulled line, never read aloud.", "attribution": ""})
            )
        if n == 8 and image is not None:
            body.append(
                ("figure", {"image": image, "caption": "A caption never read", "credit": "X"})
            )
        body.append(paragraph(f"<p>{paragraph_text(n)}</p>"))
    body.append(paragraph("<ul><li>First, the money.</li><li>Second, the timetable.</li></ul>"))
    return body


def make_long_article(section, **fields):
    return make_article(
        section,
        title=fields.pop("title", "The long road to a river deal"),
        body=long_body(image=make_image("Figure")),
        **fields,
    )


def word_count(body):
    words = 0
    for kind, value in body:
        if kind == "paragraph":
            words += len(value.split())
    return words
