"""The English news normaliser: what a newsreader would say."""

import pytest

from masthead.audio.normalise import (
    cardinal,
    decimal,
    normalise,
    ordinal,
    speakable,
    split_sentences,
    year,
)


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (42, "forty-two"),
        (100, "one hundred"),
        (101, "one hundred one"),
        (999, "nine hundred ninety-nine"),
        (1000, "one thousand"),
        (1234, "one thousand two hundred thirty-four"),
        (200_000, "two hundred thousand"),
        (1_000_000, "one million"),
        (2_500_000_000, "two billion five hundred million"),
        (-4, "minus four"),
    ],
)
def test_cardinal(number, words):
    assert cardinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (5, "fifth"),
        (8, "eighth"),
        (9, "ninth"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
        (28, "twenty-eighth"),
        (30, "thirtieth"),
        (101, "one hundred first"),
    ],
)
def test_ordinal(number, words):
    assert ordinal(number) == words


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (2023, "twenty twenty-three"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (2010, "twenty ten"),
        (1999, "nineteen ninety-nine"),
        (1905, "nineteen oh five"),
        (1900, "nineteen hundred"),
        (1066, "ten sixty-six"),
    ],
)
def test_year(number, words):
    assert year(number) == words


def test_decimal():
    assert decimal("3.14") == "three point one four"
    assert decimal("1,234.5") == "one thousand two hundred thirty-four point five"
    assert decimal("-0.5") == "minus zero point five"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # Currency, with scale words and cents.
        ("$200 million", "two hundred million dollars"),
        ("$1.5 billion", "one point five billion dollars"),
        ("$1.5bn", "one point five billion dollars"),
        ("$5m", "five million dollars"),
        ("$200,000", "two hundred thousand dollars"),
        ("$1", "one dollar"),
        ("$3.50", "three dollars and fifty cents"),
        ("$1.01", "one dollar and one cent"),
        ("$0.25", "twenty-five cents"),
        ("$5-10 million", "five to ten million dollars"),
        ("$5 to $10 million", "five to ten million dollars"),
        ("€20", "twenty euros"),
        ("€140 million", "one hundred forty million euros"),
        ("€45,000", "forty-five thousand euros"),
        ("£1.2 trillion", "one point two trillion pounds"),
        ("£3.50", "three pounds and fifty pence"),
        ("¥500", "five hundred yen"),
        ("US$40", "forty U-S dollars"),
        ("a €180,000 mortgage", "a one hundred eighty thousand euro mortgage"),
        ("a $5 million grant", "a five million dollar grant"),
        ("paid $5 million to", "paid five million dollars to"),
        # Dates: ordinal days, spoken years.
        ("December 28, 2023", "December twenty-eighth, twenty twenty-three"),
        ("on March 3", "on March third"),
        ("July 4th", "July fourth"),
        ("Jan. 6", "January sixth"),
        ("Sept. 11, 2001", "September eleventh, two thousand one"),
        ("Oct. 27–28", "October twenty-seventh to twenty-eighth"),
        ("28 December 2023", "the twenty-eighth of December, twenty twenty-three"),
        ("the 4th of July", "the fourth of July"),
        ("12/25/2023", "December twenty-fifth, twenty twenty-three"),
        ("in 2023", "in twenty twenty-three"),
        ("in 2023.", "in twenty twenty-three."),
        ("In 2026, banks", "In twenty twenty-six, banks"),
        # Titles and other abbreviations.
        ("Sec. Blinken said", "Secretary Blinken said"),
        ("Gov. Newsom", "Governor Newsom"),
        ("Sen. Warren", "Senator Warren"),
        ("Rep. Ocasio-Cortez", "Representative Ocasio-Cortez"),
        ("Dr. Smith", "Doctor Smith"),
        ("Mr. and Mrs. Jones", "Mister and Missus Jones"),
        ("Gen. Milley", "General Milley"),
        ("Prof. Okafor", "Professor Okafor"),
        ("No. 3", "number three"),
        ("the No. 10 seed", "the number ten seed"),
        ("#1 in the charts", "number one in the charts"),
        ("St. Louis", "Saint Louis"),
        ("St. Petersburg", "Saint Petersburg"),
        ("on Main St.", "on Main Street"),
        ("Mt. Everest", "Mount Everest"),
        ("Texas vs. California", "Texas versus California"),
        ("Roe v. Wade", "Roe versus Wade"),
        ("a Ph.D. in physics", "a P-H-D in physics"),
        ("her PhD", "her P-H-D"),
        ("Apple Inc. said", "Apple Incorporated said"),
        ("Martin Luther King Jr. said", "Martin Luther King Junior said"),
        ("apples, pears, etc.", "apples, pears, et cetera"),
        ("e.g. rice", "for example, rice"),
        ("i.e. not", "that is, not"),
        ("Sacramento, Calif.", "Sacramento, California"),
        ("Albany, N.Y.", "Albany, New York"),
        ("Washington, D.C.", "Washington, D-C"),
        ("Sen. Padilla (D-Calif.) said", "Senator Padilla, Democrat of California, said"),
        # Numbers with commas and decimals, percentages.
        ("1,234,567", "one million two hundred thirty-four thousand five hundred sixty-seven"),
        ("3.14", "three point one four"),
        ("2.5 million people", "two point five million people"),
        ("12 people", "twelve people"),
        ("5%", "five percent"),
        ("1.75%", "one point seven five percent"),
        ("0.6%", "zero point six percent"),
        ("+3.2%", "plus three point two percent"),
        ("between 2% and 3%", "between two percent and three percent"),
        ("5-10%", "five to ten percent"),
        ("12 percent", "twelve percent"),
        ("2.25 percentage points", "two point two five percentage points"),
        # Times.
        ("9:30 a.m.", "nine thirty A-M"),
        ("at 9 a.m.", "at nine A-M"),
        ("5 p.m. on Friday", "five P-M on Friday"),
        ("2:15 p.m.", "two fifteen P-M"),
        ("12:05 p.m.", "twelve oh five P-M"),
        ("10:00", "ten o'clock"),
        ("7:45 PM", "seven forty-five P-M"),
        # Ranges, decades, 9/11 and fractions.
        ("2023–24", "twenty twenty-three to twenty-four"),
        ("2022-23", "twenty twenty-two to twenty-three"),
        ("1999–2000", "nineteen ninety-nine to two thousand"),
        ("10–15 people", "ten to fifteen people"),
        ("pages 5-7", "pages five to seven"),
        ("the 1990s", "the nineteen nineties"),
        ("the 2000s", "the two thousands"),
        ("the 1800s", "the eighteen hundreds"),
        ("the 2010s", "the twenty tens"),
        ("the '90s", "the nineties"),
        ("in his 40s", "in his forties"),
        ("mid-1990s", "mid-nineteen nineties"),
        ("9/11", "nine-eleven"),
        ("after 9/11,", "after nine-eleven,"),
        ("24/7", "twenty-four seven"),
        ("1/2", "one half"),
        ("2/3", "two thirds"),
        ("3/4", "three quarters"),
        ("2 1/2", "two and a half"),
        # Units.
        ("50 km", "fifty kilometers"),
        ("50km", "fifty kilometers"),
        ("1 km", "one kilometer"),
        ("a 50-km race", "a fifty-kilometer race"),
        ("100 mph", "one hundred miles per hour"),
        ("20°C", "twenty degrees Celsius"),
        ("-5°C", "minus five degrees Celsius"),
        ("70°F", "seventy degrees Fahrenheit"),
        ("3 kg", "three kilograms"),
        ("500 MW", "five hundred megawatts"),
        ("1,200 sq ft", "one thousand two hundred square feet"),
        ("400 ppm", "four hundred parts per million"),
        ("12.5 GW", "twelve point five gigawatts"),
        # Ordinals.
        ("the 21st century", "the twenty-first century"),
        ("her 3rd term", "her third term"),
        ("the 101st Airborne", "the one hundred first Airborne"),
        # Acronyms: letters or words, as a newsroom says them.
        ("the U.S. Senate", "the U-S Senate"),
        ("the U.K.", "the U-K"),
        ("the U.N.", "the U-N"),
        ("FBI agents", "F-B-I agents"),
        ("the EU", "the E-U"),
        ("the US", "the U-S"),
        ("the ECB", "the E-C-B"),
        ("the ACLU", "the A-C-L-U"),
        ("CEOs", "C-E-O's"),
        ("the GDP", "the G-D-P"),
        ("the WHO", "the W-H-O"),
        ("NATO allies", "NATO allies"),
        ("NASA", "NASA"),
        ("UNESCO", "UNESCO"),
        ("OPEC", "OPEC"),
        ("AT&T", "A-T and T"),
        ("COVID-19", "COVID-nineteen"),
        ("5G", "five G"),
        ("F-35", "F-thirty-five"),
        ("the NYT", "the N-Y-T"),
        ("EMTs", "E-M-T's"),
        ("known as FAIR plans", "known as FAIR plans"),
        ("the LIBOR rate", "the LIBOR rate"),
        # A dateline in capitals is a place name.
        ("GRANITE BEND, Minn. — The chimney", "Granite Bend, Minnesota, The chimney"),
        ("SŁUBICE, Poland", "Słubice, Poland"),
        # Roman numerals.
        ("World War II", "World War Two"),
        ("WWII", "World War Two"),
        ("Elizabeth II", "Elizabeth the Second"),
        ("Henry VIII", "Henry the Eighth"),
        ("Part II", "Part Two"),
        # Web addresses read out whole, without the scheme, port or query; emails by parts.
        ("https://www.example.org/path?x=1", "www dot example dot org slash path"),
        ("see example.com/report.", "see example dot com slash report."),
        ("http://data.example.net:8080/a/b", "data dot example dot net slash a slash b"),
        ("write to jane.doe@example.com", "write to jane dot doe at example dot com"),
        # Symbols.
        ("Johnson & Johnson", "Johnson and Johnson"),
        ("~300 people", "about three hundred people"),
        # Names with accents keep them.
        ("José Peña in São Paulo", "José Peña in São Paulo"),
        ("Katrin Müller of Düsseldorf", "Katrin Müller of Düsseldorf"),
        ("François Aubert", "François Aubert"),
        ("Zoë Ångström", "Zoë Ångström"),
        # Dashes are pauses.
        ("The plan — if it exists — is secret.", "The plan, if it exists, is secret."),
    ],
)
def test_normalise(text, spoken):
    assert normalise(text) == spoken


def test_normalised_text_has_no_digits_or_symbols():
    text = (
        "At 2:15 p.m. in Frankfurt on October 8, 2026, the ECB cut its rate by 0.25 "
        "points to 1.75%, and the euro slipped 0.6% against the $; €140 million is at stake."
    )
    spoken = normalise(text)
    assert not any(ch.isdigit() for ch in spoken)
    assert "%" not in spoken and "€" not in spoken
    assert "two fifteen P-M" in spoken
    assert "October eighth, twenty twenty-six" in spoken
    assert "one hundred forty million euros" in spoken


def test_decomposed_accents_are_composed_and_kept():
    decomposed = "Jose\u0301 Pen\u0303a"
    assert normalise(decomposed) == "José Peña"


def test_private_use_placeholders_pass_through():
    # The lexicon protects entries with private-use characters.
    assert normalise("Dr. \ue000 met \ue001 at 9 a.m.") == "Doctor \ue000 met \ue001 at nine A-M"


@pytest.mark.parametrize(
    ("text", "sentences"),
    [
        (
            "Sec. Blinken met Gov. Newsom in St. Louis on Dec. 28. The talks went well.",
            ["Sec. Blinken met Gov. Newsom in St. Louis on Dec. 28.", "The talks went well."],
        ),
        (
            "She works for the U.S. Senate. Really? Yes!",
            ["She works for the U.S. Senate.", "Really?", "Yes!"],
        ),
        (
            "He moved to the U.S. The next year he left.",
            ["He moved to the U.S.", "The next year he left."],
        ),
        (
            "He was No. 3 on the list. No. It was not.",
            ["He was No. 3 on the list.", "No.", "It was not."],
        ),
        (
            "Dr. Peña, a Ph.D. from the U.K., spoke at 9 a.m. on Friday. Then she left.",
            ["Dr. Peña, a Ph.D. from the U.K., spoke at 9 a.m. on Friday.", "Then she left."],
        ),
        (
            "John F. Kennedy spoke first. Plan B. The end.",
            ["John F. Kennedy spoke first.", "Plan B.", "The end."],
        ),
        (
            "Shares of Apple Inc. rose. Shares of Apple Inc. The company said so.",
            ["Shares of Apple Inc. rose.", "Shares of Apple Inc.", "The company said so."],
        ),
        (
            "It costs $3.50. That is a lot... Then more.",
            ["It costs $3.50.", "That is a lot...", "Then more."],
        ),
        (
            "\u201cGo,\u201d she said. \u201cNow.\u201d He went.",
            ['"Go," she said.', '"Now."', "He went."],
        ),
        (
            "Texas vs. California, Roe v. Wade and Mt. Rainier. All fine.",
            ["Texas vs. California, Roe v. Wade and Mt. Rainier.", "All fine."],
        ),
        ("Line one\nLine two", ["Line one", "Line two"]),
    ],
)
def test_split_sentences(text, sentences):
    assert split_sentences(text) == sentences


def test_speakable_ends_each_sentence_with_punctuation():
    assert speakable("A headline without a stop") == ["A headline without a stop."]
    assert speakable("He moved to the U.S. The next year he left.") == [
        "He moved to the U-S.",
        "The next year he left.",
    ]
    assert speakable("   ") == []
    assert speakable("— ") == []


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # The demo's headline: a scale word in title case is still a scale word.
        ("The $200 Million Question", "The two hundred million dollars Question"),
        ("$3 Billion deal", "three billion dollars deal"),
        ("€2.5 Trillion", "two point five trillion euros"),
        ("$5 Thousand", "five thousand dollars"),
        ("£40 MILLION", "forty million pounds"),
        ("$200 million", "two hundred million dollars"),
        ("a $5 Million grant", "a five million dollar grant"),
    ],
)
def test_scale_words_in_any_case(text, spoken):
    assert normalise(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Neighbours called 911 at once.", "Neighbours called nine one one at once."),
        ("In Europe, dial 112.", "In Europe, dial one one two."),
        ("In Britain, dial 999 or 111.", "In Britain, dial nine nine nine or one one one."),
        ("Call 311, 411 or 988.", "Call three one one, four one one or nine eight eight."),
        ("She texted 988 that night", "She texted nine eight eight that night"),
        ("call 000 in Australia", "call zero zero zero in Australia"),
        ("a 911 call", "a nine one one call"),
        ("911 dispatchers said", "nine one one dispatchers said"),
        ("the 988 Lifeline", "the nine eight eight Lifeline"),
        ("the 999 emergency line", "the nine nine nine emergency line"),
        # The same figures as quantities are numbers.
        ("There were 911 people.", "There were nine hundred eleven people."),
        ("He called 311 times.", "He called three hundred eleven times."),
        ("They called 911,000 voters", "They called nine hundred eleven thousand voters"),
        ("$911 million", "nine hundred eleven million dollars"),
        ("Route 999", "Route nine hundred ninety-nine"),
    ],
)
def test_service_numbers_digit_by_digit(text, spoken):
    assert normalise(text) == spoken


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        (
            "See example.com/path/to-page.",
            "See example dot com slash path slash to dash page.",
        ),
        (
            "https://www.example.org/reports/2024/q3",
            "www dot example dot org slash reports slash twenty twenty-four slash q three",
        ),
        ("Visit www.example.com.", "Visit www dot example dot com."),
        ("Visit www.example.com/.", "Visit www dot example dot com."),
        (
            "Read nytimes.com/section, then stop.",
            "Read nytimes dot com slash section, then stop.",
        ),
        (
            "(see www.example.org/a_b/file.pdf).",
            "(see www dot example dot org slash a underscore b slash file dot pdf).",
        ),
        (
            "Go to https://example.co.uk/news/harbour-vote#top!",
            "Go to example dot co dot uk slash news slash harbour dash vote!",
        ),
        (
            'He wrote "www.example.net/2026."',
            "He wrote www dot example dot net slash twenty twenty-six.",
        ),
    ],
)
def test_web_addresses_read_whole(text, spoken):
    assert normalise(text) == spoken
