"""English news text, rewritten the way a newsreader would say it.

Speech engines read digits, symbols and abbreviations literally: "$200
million" becomes "dollar two hundred million", "Sec. Blinken" a sentence
break. `normalise(text)` rewrites one sentence into plain words;
`split_sentences(text)` cuts a paragraph into sentences without breaking on
abbreviations. Both are pure functions of their input: no Django, no engine.

Characters in the Unicode private use area pass through untouched, so a
caller can protect spans (lexicon entries) with placeholders. Letters with
accents are kept: "José Peña" stays as written.
"""

import re
import unicodedata

__all__ = [
    "cardinal",
    "decimal",
    "normalise",
    "ordinal",
    "split_sentences",
    "year",
]

# --- Numbers -------------------------------------------------------------

_ONES = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TENS = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
]  # fmt: skip
_SCALES = [
    (10**12, "trillion"),
    (10**9, "billion"),
    (10**6, "million"),
    (10**3, "thousand"),
]
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _under_thousand(n):
    words = []
    if n >= 100:
        words.append(f"{_ONES[n // 100]} hundred")
        n %= 100
    if n >= 20:
        words.append(_TENS[n // 10] + (f"-{_ONES[n % 10]}" if n % 10 else ""))
    elif n or not words:
        words.append(_ONES[n])
    return " ".join(words)


def cardinal(n):
    """1234 -> "one thousand two hundred thirty-four" (American, no "and")."""
    n = int(n)
    if n < 0:
        return "minus " + cardinal(-n)
    if n < 1000:
        return _under_thousand(n)
    words = []
    for value, name in _SCALES:
        if n >= value:
            words.append(f"{cardinal(n // value)} {name}")
            n %= value
    if n:
        words.append(_under_thousand(n))
    return " ".join(words)


def ordinal(n):
    """28 -> "twenty-eighth"."""
    words = cardinal(n)
    head, sep, last = words.rpartition(" ")
    first, hyphen, last_part = last.rpartition("-")
    if last_part in _ORDINAL_WORDS:
        last_part = _ORDINAL_WORDS[last_part]
    elif last_part.endswith("y"):
        last_part = last_part[:-1] + "ieth"
    else:
        last_part += "th"
    return f"{head}{sep}{first}{hyphen}{last_part}"


def year(n):
    """2023 -> "twenty twenty-three", 1905 -> "nineteen oh five"."""
    n = int(n)
    if n < 1000 or n >= 10000:
        return cardinal(n)
    high, low = divmod(n, 100)
    if n % 1000 == 0 or 2000 <= n < 2010:
        return cardinal(n)
    if low == 0:
        return f"{cardinal(high)} hundred"
    if low < 10:
        return f"{cardinal(high)} oh {_ONES[low]}"
    return f"{cardinal(high)} {cardinal(low)}"


def decimal(text):
    """ "1,234.56" -> "one thousand two hundred thirty-four point five six"."""
    text = text.replace(",", "")
    negative = text.startswith(("-", "\u2212"))
    text = text.lstrip("-\u2212+")
    whole, _, fraction = text.partition(".")
    words = cardinal(int(whole or "0"))
    if fraction:
        words += " point " + " ".join(_ONES[int(d)] for d in fraction)
    return ("minus " if negative else "") + words


def _plural(word):
    """Plural of a number word's last part: ninety -> nineties, six -> sixes."""
    if word.endswith("y"):
        return word[:-1] + "ies"
    if word.endswith(("x", "s")):
        return word + "es"
    return word + "s"


def _is_one(number_text):
    return number_text.replace(",", "") in {"1", "1.0", "1.00"}


# --- Vocabulary ----------------------------------------------------------

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
MONTH_ABBREVIATIONS = {
    "Jan": "January",
    "Feb": "February",
    "Mar": "March",
    "Apr": "April",
    "Jun": "June",
    "Jul": "July",
    "Aug": "August",
    "Sep": "September",
    "Sept": "September",
    "Oct": "October",
    "Nov": "November",
    "Dec": "December",
}

# Titles before a name: never the end of a sentence.
TITLES = {
    "Adm": "Admiral",
    "Amb": "Ambassador",
    "Assemblyman": "Assemblyman",
    "Atty": "Attorney",
    "Brig": "Brigadier",
    "Capt": "Captain",
    "Cmdr": "Commander",
    "Col": "Colonel",
    "Cpl": "Corporal",
    "Det": "Detective",
    "Dr": "Doctor",
    "Fr": "Father",
    "Gen": "General",
    "Gov": "Governor",
    "Hon": "Honorable",
    "Insp": "Inspector",
    "Lt": "Lieutenant",
    "Maj": "Major",
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Msgr": "Monsignor",
    "Pres": "President",
    "Prof": "Professor",
    "Rep": "Representative",
    "Reps": "Representatives",
    "Rev": "Reverend",
    "Sec": "Secretary",
    "Sen": "Senator",
    "Sens": "Senators",
    "Sgt": "Sergeant",
    "Supt": "Superintendent",
}
# Abbreviations that sit inside a sentence and are expanded wherever found.
INNER_ABBREVIATIONS = {
    "vs": "versus",
    "v": "versus",
    "approx": "approximately",
    "Dept": "Department",
    "Univ": "University",
    "Mt": "Mount",
    "Ft": "Fort",
    "Pt": "Point",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "Rd": "Road",
    "Hwy": "Highway",
    "Gov't": "government",
    "est": "estimated",
    "ca": "circa",
    "cf": "compare",
    "Fig": "Figure",
    "fig": "figure",
}
# Abbreviations that may end a sentence ("... of Apple Inc. The company").
TRAILING_ABBREVIATIONS = {
    "Inc": "Incorporated",
    "Corp": "Corporation",
    "Ltd": "Limited",
    "Co": "Company",
    "Bros": "Brothers",
    "Jr": "Junior",
    "Sr": "Senior",
    "etc": "et cetera",
}
# AP-style state abbreviations, expanded after "City, ".
STATE_ABBREVIATIONS = {
    "Ala": "Alabama",
    "Ariz": "Arizona",
    "Ark": "Arkansas",
    "Calif": "California",
    "Colo": "Colorado",
    "Conn": "Connecticut",
    "Del": "Delaware",
    "Fla": "Florida",
    "Ga": "Georgia",
    "Ill": "Illinois",
    "Ind": "Indiana",
    "Kan": "Kansas",
    "Ky": "Kentucky",
    "La": "Louisiana",
    "Md": "Maryland",
    "Mass": "Massachusetts",
    "Mich": "Michigan",
    "Minn": "Minnesota",
    "Miss": "Mississippi",
    "Mo": "Missouri",
    "Mont": "Montana",
    "Neb": "Nebraska",
    "Nev": "Nevada",
    "N.H": "New Hampshire",
    "N.J": "New Jersey",
    "N.M": "New Mexico",
    "N.Y": "New York",
    "N.C": "North Carolina",
    "N.D": "North Dakota",
    "Okla": "Oklahoma",
    "Ore": "Oregon",
    "Pa": "Pennsylvania",
    "R.I": "Rhode Island",
    "S.C": "South Carolina",
    "S.D": "South Dakota",
    "Tenn": "Tennessee",
    "Tex": "Texas",
    "Vt": "Vermont",
    "Va": "Virginia",
    "Wash": "Washington",
    "W.Va": "West Virginia",
    "Wis": "Wisconsin",
    "Wyo": "Wyoming",
}
PARTIES = {"D": "Democrat", "R": "Republican", "I": "independent"}

# Acronyms a newsroom reads letter by letter, and those it reads as words.
LETTER_ACRONYMS = {
    "ABC", "ACLU", "AFL", "AFP", "AI", "AP", "ATM", "BBC", "BMW", "CBS", "CDC", "CEO",
    "CFO", "CIA", "CNN", "COO", "CPI", "CTO", "DC", "DHS", "DNA", "DOJ", "DUI", "ECB",
    "EPA", "ESG", "EU", "EV", "FAA", "FBI", "FCC", "FDA", "FDIC", "FTC", "GDP", "GOP",
    "GPS", "HBO", "HIV", "HR", "HSBC", "IBM", "ICE", "ICU", "IMF", "IOC", "IPO", "IRA",
    "IRS", "IT", "IVF", "LGBT", "LGBTQ", "MIT", "MLB", "MP", "MPs", "MRI", "MSNBC",
    "NAACP", "NBA", "NBC", "NFL", "NGO", "NHL", "NHS", "NPR", "NSA", "NTSB", "NYPD",
    "PBS", "PC", "PDF", "PhD", "PR", "PTSD", "SEC", "SUV", "TV", "UAE", "UAW", "UCLA",
    "UK", "UN", "UPS", "US", "USA", "USC", "USDA", "USSR", "VA", "VAT", "VP", "WHO",
    "WTO",
}  # fmt: skip
WORD_ACRONYMS = {
    "AIDS", "ASEAN", "CERN", "COVID", "DARPA", "FEMA", "FIFA", "GIF", "ISIS", "JPEG",
    "LIBOR", "MERCOSUR", "NAFTA", "NASA", "NASDAQ", "NATO", "OPEC", "OSHA", "SARS",
    "SWAT", "SWIFT", "UNESCO", "UNICEF", "UEFA", "WASP",
}  # fmt: skip
# Numbered things whose Roman numerals are cardinals ("Part Two"), not
# regnal ordinals ("Elizabeth the Second").
_CARDINAL_ROMAN_NOUNS = {
    "Act", "Apollo", "Article", "Book", "Chapter", "Class", "Grade", "Level", "Mark",
    "Part", "Phase", "Schedule", "Section", "Stage", "Super", "Tier", "Title", "Type",
    "Vatican", "Volume",
}  # fmt: skip

UNITS = {
    # symbol: (singular, plural)
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "km²": ("square kilometer", "square kilometers"),
    "km2": ("square kilometer", "square kilometers"),
    "sq km": ("square kilometer", "square kilometers"),
    "sq mi": ("square mile", "square miles"),
    "sq ft": ("square foot", "square feet"),
    "m²": ("square meter", "square meters"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "m": ("meter", "meters"),
    "mi": ("mile", "miles"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ml": ("milliliter", "milliliters"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "mpg": ("mile per gallon", "miles per gallon"),
    "ha": ("hectare", "hectares"),
    "kWh": ("kilowatt-hour", "kilowatt-hours"),
    "MWh": ("megawatt-hour", "megawatt-hours"),
    "GWh": ("gigawatt-hour", "gigawatt-hours"),
    "TWh": ("terawatt-hour", "terawatt-hours"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "kB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "ppm": ("part per million", "parts per million"),
    "bpd": ("barrel a day", "barrels a day"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
}

CURRENCIES = {
    # symbol: (singular, plural, minor singular, minor plural)
    "US$": ("U-S dollar", "U-S dollars", "cent", "cents"),
    "A$": ("Australian dollar", "Australian dollars", "cent", "cents"),
    "C$": ("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "HK$": ("Hong Kong dollar", "Hong Kong dollars", "cent", "cents"),
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", "sen", "sen"),
    "₹": ("rupee", "rupees", "paisa", "paise"),
}
_SCALE_WORDS = {
    "thousand": "thousand",
    "k": "thousand",
    "K": "thousand",
    "million": "million",
    "mn": "million",
    "m": "million",
    "M": "million",
    "billion": "billion",
    "bn": "billion",
    "b": "billion",
    "B": "billion",
    "trillion": "trillion",
    "tn": "trillion",
    "T": "trillion",
}
_FRACTIONS = {
    2: ("half", "halves"),
    3: ("third", "thirds"),
    4: ("quarter", "quarters"),
}
SPECIAL_NUMBERS = {
    "9/11": "nine-eleven",
    "24/7": "twenty-four seven",
    "50/50": "fifty-fifty",
    "20/20": "twenty-twenty",
    "7-Eleven": "Seven-Eleven",
}
# Emergency and other telephone service numbers, said digit by digit ("nine
# one one") where the sentence is about calling them.
SERVICE_NUMBERS = {
    "000", "101", "111", "112", "119", "211", "311", "411", "511", "611", "711",
    "811", "911", "988", "999",
}  # fmt: skip
_CALLING = (
    r"call|calls|called|calling|dial|dials|dialed|dialled|dialing|dialling|text|texts|"
    r"texted|texting|phone|phones|phoned|phoning|ring|rings|ringing|rang|reach|reached"
)
_SERVICE_NOUNS = (
    r"calls?|callers?|dispatch|dispatchers?|operators?|lines?|lifeline|systems?|centres?|"
    r"centers?|services?|hotlines?|emergency|emergencies|number|texts?|crisis|suicide"
)
_ROMAN = {
    "II": 2, "III": 3, "IV": 4, "VI": 6, "VII": 7, "VIII": 8, "IX": 9, "XI": 11,
    "XII": 12, "XIII": 13, "XIV": 14, "XV": 15, "XVI": 16,
}  # fmt: skip

# Words that start sentences and rarely follow an abbreviation mid-sentence.
SENTENCE_STARTERS = {
    "A", "About", "After", "Also", "Although", "An", "And", "Another", "Any", "As",
    "At", "Because", "Before", "Both", "But", "By", "Critics", "Despite", "Each",
    "Even", "Every", "For", "From", "He", "Her", "Here", "His", "How", "However", "I",
    "If", "In", "Instead", "It", "Its", "Last", "Later", "Many", "Meanwhile", "More",
    "Most", "My", "Neither", "No", "None", "Nor", "Not", "Now", "Officials", "On",
    "One", "Only", "Or", "Other", "Others", "Our", "Over", "Since", "So", "Some",
    "Still", "Such", "That", "The", "Their", "Then", "There", "These", "They", "This",
    "Those", "Though", "Thus", "To", "Under", "Unlike", "Until", "We", "What", "When",
    "Where", "Whether", "Which", "While", "Who", "Why", "With", "Within", "Yet", "You",
}  # fmt: skip

# --- Rules ---------------------------------------------------------------

_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_DASH = "[-\u2013\u2014]"


def _words(pattern, flags=0):
    return re.compile(pattern, flags)


def _number_words(text):
    """A number as spoken in a count: commas and decimals understood."""
    text = text.replace(",", "")
    if "." in text:
        return decimal(text)
    return cardinal(int(text))


_URL_END = r"(?=[.,;:!?)\]'\"”’]*(?:\s|$))"
# Path characters read as words; the query and fragment are not read at all.
_PATH_SYMBOLS = {"-": " dash ", "_": " underscore ", ".": " dot ", "~": " tilde "}


def _spoken_host(host):
    return " dot ".join(host.lower().split("."))


def _spoken_path(path):
    """ "/reports/2024/q3" -> " slash reports slash 2024 slash q3": numbers are
    left as digits for the number rules that follow to read."""
    path = re.split(r"[?#]", path, maxsplit=1)[0].rstrip("/")
    spoken = []
    for part in path.split("/")[1:]:
        for symbol, word in _PATH_SYMBOLS.items():
            part = part.replace(symbol, word)
        part = re.sub(r"%[0-9A-Fa-f]{2}|[^\w\s]", " ", part)
        spoken.append(" slash " + part.strip())
    return "".join(spoken)


def _sub_urls(text):
    """Web addresses as a person reads them out: the host with its "www", then
    the path, slash by slash; the scheme, port, query and fragment are left
    unsaid. Email addresses by their parts."""

    def url(match):
        return _spoken_host(match.group("host")) + _spoken_path(match.group("path") or "")

    text = re.sub(
        r"\b(?P<user>[\w.+-]+)@(?P<host>[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)",
        lambda m: m.group("user").replace(".", " dot ") + " at " + _spoken_host(m.group("host")),
        text,
    )
    text = re.sub(
        r"\b(?:https?://)?(?P<host>www\d?\.[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|"
        r"(?<=://)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)(?::\d+)?"
        rf"(?P<path>/[^\s]*?)?{_URL_END}",
        url,
        text,
    )
    # Bare domains: "example.org", "nytimes.com/section".
    return re.sub(
        r"\b(?P<host>(?:[A-Za-z0-9-]+\.)+(?:com|org|net|gov|edu|io|co\.uk|co|uk|eu|de|fr|info|news))"
        rf"(?P<path>/[^\s]*?)?{_URL_END}",
        url,
        text,
    )


def _sub_service_numbers(text):
    """ "called 911" -> "called nine one one", "dial 112 or 999" both; "911
    dispatchers" likewise. "called 311 times" is a count."""
    service = "|".join(sorted(SERVICE_NUMBERS))
    alone = r"(?![\w,.]\d|[\d%])"

    def digits(match):
        return re.sub(r"\d+", lambda m: " ".join(_ONES[int(d)] for d in m.group(0)), match.group(0))

    text = re.sub(
        rf"(?i)\b(?:{_CALLING})\s+(?:to\s+)?(?:{service}){alone}"
        rf"(?:(?:,\s*|,?\s+(?:or|and)\s+)(?:{service}){alone})*(?!\s+times\b)",
        digits,
        text,
    )
    return re.sub(
        rf"(?<![\w$€£¥.,])(?:{service})(?=[\s-]+(?i:{_SERVICE_NOUNS})\b)",
        digits,
        text,
    )


def _sub_parties(text):
    """ "(D-Calif.)" -> ", Democrat of California,"."""

    def party(match):
        state = match.group(2).rstrip(".")
        state = STATE_ABBREVIATIONS.get(state, state)
        return f", {PARTIES[match.group(1)]} of {state},"

    return re.sub(r"\s?\(([DRI])-([A-Z][A-Za-z.]*(?: [A-Z][a-z]+)?)\)", party, text)


def _sub_abbreviations(text):
    # "No. 3", "Nos. 3 and 4"
    text = re.sub(r"\bNo\.\s?(?=\d)", "number ", text)
    text = re.sub(r"\bNos\.\s?(?=\d)", "numbers ", text)
    text = re.sub(r"#(?=\d)", "number ", text)
    # "St. Louis" is a saint; "Main St." a street.
    text = re.sub(r"\bSt\.\s?(?=[A-Z])", "Saint ", text)
    text = re.sub(r"\bSt\.", "Street", text)
    text = re.sub(r"\bSte\.\s?(?=[A-Z])", "Sainte ", text)
    text = re.sub(r"\bPh\.\s?D\.?|\bPhD\b", "P-H-D", text)
    text = re.sub(r"\bPhDs\b", "P-H-D's", text)
    text = re.sub(r"\bWWII\b", "World War Two", text)
    text = re.sub(r"\bWWI\b", "World War One", text)
    text = re.sub(r"\bM\.D\.", "M-D", text)
    text = re.sub(r"\be\.g\.,?", "for example,", text)
    text = re.sub(r"\bi\.e\.,?", "that is,", text)
    # Months, only before a day or a year: "Jan. 6", "Sept. 2001".
    text = re.sub(
        r"\b(" + "|".join(MONTH_ABBREVIATIONS) + r")\.?\s(?=\d)",
        lambda m: MONTH_ABBREVIATIONS[m.group(1)] + " ",
        text,
    )
    # States after "City, ": "Sacramento, Calif." and "Washington, D.C."
    text = re.sub(r",\s?D\.C\.", ", D-C", text)
    text = re.sub(
        r"(?<=, )(" + "|".join(re.escape(k) for k in STATE_ABBREVIATIONS) + r")\.",
        lambda m: STATE_ABBREVIATIONS[m.group(1)],
        text,
    )
    text = re.sub(
        r"\b(" + "|".join(TITLES) + r")\.\s?(?=[A-Z\u00c0-\u024f\ue000-\uf8ff])",
        lambda m: TITLES[m.group(1)] + " ",
        text,
    )
    text = re.sub(
        r"\b(Mr|Mrs|Ms|Messrs)\.",
        lambda m: {"Messrs": "Messieurs"}.get(m.group(1)) or TITLES[m.group(1)],
        text,
    )
    text = re.sub(
        r"(?<![\w.])(" + "|".join(re.escape(k) for k in INNER_ABBREVIATIONS) + r")\.(?=\s|$)",
        lambda m: INNER_ABBREVIATIONS[m.group(1)],
        text,
    )
    return re.sub(
        r"(?<![\w.])(" + "|".join(TRAILING_ABBREVIATIONS) + r")\.",
        lambda m: TRAILING_ABBREVIATIONS[m.group(1)],
        text,
    )


def _spell(letters):
    """ "FBI" -> "F-B-I": hyphens make the engine name each letter ("A" too)."""
    return " and ".join("-".join(part) for part in letters.split("&") if part)


def _sub_dotted_acronyms(text):
    """ "U.S." -> "U-S", "a.m." handled with times."""

    def dotted(match):
        letters = match.group(0).replace(".", "")
        if letters.lower() in {"am", "pm"}:
            return match.group(0)
        return _spell(letters.upper())

    return re.sub(r"(?<![\w.])(?:[A-Za-z]\.){2,}(?!\w)", dotted, text)


def _currency_amount(symbol, number, scale, attributive=False):
    singular, plural, minor_one, minor_many = CURRENCIES[symbol]
    if attributive:  # "a $5 million grant": "a five million dollar grant"
        plural = singular
    if scale:
        return f"{_number_words(number)} {_SCALE_WORDS[scale]} {plural}"
    plain = number.replace(",", "")
    whole, _, cents = plain.partition(".")
    if cents and len(cents) == 2:
        whole_n, cents_n = int(whole or "0"), int(cents)
        if whole_n == 0:
            return f"{cardinal(cents_n)} {minor_one if cents_n == 1 else minor_many}"
        words = f"{cardinal(whole_n)} {singular if whole_n == 1 else plural}"
        if cents_n:
            words += f" and {cardinal(cents_n)} {minor_one if cents_n == 1 else minor_many}"
        return words
    return f"{_number_words(number)} {singular if _is_one(number) else plural}"


_CURRENCY_SYMBOL = "|".join(re.escape(s) for s in sorted(CURRENCIES, key=len, reverse=True))
# Headlines capitalise the scale words: "$200 Million" is still two hundred million dollars.
_SCALE = r"(?i:thousand|million|billion|trillion)|bn|mn|tn"


def _sub_currency(text):
    def money(match):
        symbol, number = match.group("sym"), match.group("num")
        scale = (match.group("scale") or "").lower() or match.group("short")
        upper = match.group("num2")
        article = match.group("article") or ""
        attributive = bool(article) and bool(
            re.match(r"\s[a-z]", text[match.end() : match.end() + 2])
        )
        if upper:
            return (
                f"{article}{_number_words(number)} to "
                f"{_currency_amount(symbol, upper, scale, attributive)}"
            )
        return article + _currency_amount(symbol, number, scale, attributive)

    return re.sub(
        rf"(?P<article>\b[Aa]n?\s)?(?P<sym>{_CURRENCY_SYMBOL})\s?(?P<num>{_NUM})"
        rf"(?:\s?(?:{_DASH}|to)\s?(?:{_CURRENCY_SYMBOL})?\s?(?P<num2>{_NUM}))?"
        rf"(?:[\s-]?(?P<scale>{_SCALE})\b|(?P<short>[kKmMbBT])\b)?",
        money,
        text,
    )


def _sub_dates(text):
    months = "|".join(MONTHS)

    def month_day(match):
        words = f"{match.group('month')} {ordinal(match.group('day'))}"
        if match.group("day2"):
            words += f" to {ordinal(match.group('day2'))}"
        if match.group("year"):
            words += f", {year(match.group('year'))}"
        return words

    text = re.sub(
        rf"\b(?P<month>{months})\s(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
        rf"(?:\s?{_DASH}\s?(?P<day2>[0-3]?\d)(?:st|nd|rd|th)?)?\b"
        rf"(?:,?\s(?P<year>1\d{{3}}|20\d{{2}})\b)?(?!:)",
        month_day,
        text,
    )

    def day_month(match):
        the = match.group("the") or "the"
        words = f"{the} {ordinal(match.group('day'))} of {match.group('month')}"
        if match.group("year"):
            words += f", {year(match.group('year'))}"
        return words

    text = re.sub(
        rf"(?:\b(?P<the>[Tt]he)\s)?\b(?P<day>[0-3]?\d)(?:st|nd|rd|th)?\s(?:of\s)?(?P<month>{months})\b"
        rf"(?:,?\s(?P<year>1\d{{3}}|20\d{{2}})\b)?",
        day_month,
        text,
    )

    def numeric(match):
        month, day, yr = (int(g) for g in match.groups())
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return match.group(0)
        return f"{MONTHS[month - 1]} {ordinal(day)}, {year(yr)}"

    return re.sub(r"\b([01]?\d)/([0-3]?\d)/((?:19|20)\d\d)\b", numeric, text)


_AMPM = r"(?P<ampm>[aApP])\.?\s?[mM]\.?(?!\w)"


def _sub_times(text):
    def clock(match):
        hour, minute = int(match.group("h")), int(match.group("m") or 0)
        if hour > 24 or minute > 59:
            return match.group(0)
        words = cardinal(hour)
        if minute == 0:
            words += "" if match.group("ampm") else " o'clock"
        elif minute < 10:
            words += f" oh {_ONES[minute]}"
        else:
            words += f" {cardinal(minute)}"
        if match.group("ampm"):
            words += " A-M" if match.group("ampm").lower() == "a" else " P-M"
        return words

    text = re.sub(rf"\b(?P<h>[012]?\d):(?P<m>[0-5]\d)(?:\s?{_AMPM})?", clock, text)
    text = re.sub(rf"\b(?P<h>1[0-2]|0?[1-9])(?P<m>)\s?{_AMPM}", clock, text)
    return re.sub(r"(?<![\w.])([aApP])\.[mM]\.", lambda m: m.group(1).upper() + "-M", text)


def _sub_decades(text):
    def decade(match):
        words = year(match.group(1))
        head, sep, last = words.rpartition(" ")
        first, hyphen, part = last.rpartition("-")
        return f"{head}{sep}{first}{hyphen}{_plural(part)}"

    text = re.sub(r"\b(1\d\d0|20\d0)[’']?s\b", decade, text)
    return re.sub(
        r"(?:(?<=\s)|^|(?<=-))[’']?([1-9]0)[’']?s\b",
        lambda m: _plural(cardinal(int(m.group(1)))),
        text,
    )


def _sub_ranges(text):
    def years(match):
        start, end = match.group(1), match.group(2)
        if len(end) == 2:
            return f"{year(start)} to {cardinal(int(end))}"
        return f"{year(start)} to {year(end)}"

    text = re.sub(rf"\b(1\d{{3}}|20\d\d)\s?{_DASH}\s?(\d{{4}}|\d\d)\b(?![.,]?\d)", years, text)
    return re.sub(
        rf"(?<![\w.,])({_NUM})\s?(?:\u2013|-(?=\s?\d))\s?({_NUM})(?![\w-])",
        lambda m: (
            f"{_number_words(m.group(1))} to {_number_words(m.group(2))}"
            if not re.search(r"\d-\d+-\d", m.group(0))
            else m.group(0)
        ),
        text,
    )


def _sub_fractions(text):
    for written, spoken in SPECIAL_NUMBERS.items():
        text = re.sub(rf"(?<![\w/]){re.escape(written)}(?![\w/])", spoken, text)

    def fraction(match):
        whole, top, bottom = (
            match.group("whole"),
            int(match.group("top")),
            int(match.group("bottom")),
        )
        if not 0 < top < bottom or bottom > 10:
            words = f"{cardinal(top)} out of {cardinal(bottom)}"
        elif bottom in _FRACTIONS:
            singular, plural = _FRACTIONS[bottom]
            words = f"{cardinal(top)} {singular if top == 1 else plural}"
            if whole:
                return f"{cardinal(int(whole))} and {'a' if top == 1 else cardinal(top)} {singular if top == 1 else plural}"
        else:
            name = ordinal(bottom)
            words = f"{cardinal(top)} {name if top == 1 else name + 's'}"
        if whole:
            return f"{cardinal(int(whole))} and {words}"
        return words

    text = re.sub(r"(?:\b(?P<whole>\d+)\s)?\b(?P<top>\d+)/(?P<bottom>\d+)\b", fraction, text)
    return re.sub(
        r"(?<!\w)([½¼¾])",
        lambda m: {"½": "one half", "¼": "one quarter", "¾": "three quarters"}[m.group(1)],
        text,
    )


def _sub_percent(text):
    return re.sub(
        rf"([+\-\u2212]?)({_NUM})\s?(?:%|per\s?cent\b|percent\b)",
        lambda m: (
            ("plus " if m.group(1) == "+" else "minus " if m.group(1) else "")
            + f"{_number_words(m.group(2))} percent"
        ),
        text,
    )


_UNIT_PATTERN = "|".join(re.escape(u) for u in sorted(UNITS, key=len, reverse=True))


def _sub_units(text):
    def unit(match):
        number, symbol, hyphen = match.group("num"), match.group("unit"), match.group("hyphen")
        singular, plural = UNITS[symbol]
        if match.group("sign"):
            number_words = _number_words(number)
            return f"minus {number_words} {singular if _is_one(number) else plural}"
        if hyphen:  # "a 50-km race" -> "a fifty-kilometer race"
            return f"{_number_words(number)}-{singular}"
        return f"{_number_words(number)} {singular if _is_one(number) else plural}"

    return re.sub(
        rf"(?<![\w.,])(?P<sign>[-\u2212](?=\d))?(?P<num>{_NUM})(?:(?P<hyphen>-)|\s?)(?P<unit>{_UNIT_PATTERN})"
        rf"(?![\w²])",
        unit,
        text,
    )


def _sub_ordinals(text):
    return re.sub(
        r"\b(\d{1,3}(?:,\d{3})*|\d+)(st|nd|rd|th)\b",
        lambda m: ordinal(int(m.group(1).replace(",", ""))),
        text,
    )


def _sub_roman(text):
    text = re.sub(
        r"\b(World War) (I{1,2})\b",
        lambda m: f"{m.group(1)} {'One' if m.group(2) == 'I' else 'Two'}",
        text,
    )

    def roman(match):
        name, number = match.group(1), _ROMAN[match.group(2)]
        if name in _CARDINAL_ROMAN_NOUNS:
            return f"{name} {cardinal(number).capitalize()}"
        # Regnal numbers: "Elizabeth II", "Pope Leo XIV".
        return f"{name} the {ordinal(number).capitalize()}"

    return re.sub(r"\b([A-Z][a-z]+) (" + "|".join(_ROMAN) + r")\b", roman, text)


def _sub_years_and_numbers(text):
    # A bare four-digit number without a comma is a year in news style.
    text = re.sub(
        r"(?<![\w.,$€£¥\-\u2212])(1[1-9]\d\d|20\d\d)(?![\w%]|[.,]\d)",
        lambda m: year(m.group(1)),
        text,
    )
    text = re.sub(
        rf"(?<![\w.])([+\-\u2212]?)(\.\d+|{_NUM})(?![\w])",
        lambda m: (
            ("plus " if m.group(1) == "+" else "minus " if m.group(1) else "") + decimal(m.group(2))
        ),
        text,
    )
    # Digits glued to letters: "5G", "G7", "F-35", "COVID-19".
    return re.sub(r"\d+", lambda m: " " + cardinal(int(m.group(0))) + " ", text)


_UPPER = "A-ZÀ-ÖØ-ÞĀ-Ž"


def _sub_datelines(text):
    """ "GRANITE BEND, Minn. —": a dateline in capitals is read as words."""
    return re.sub(
        rf"^([{_UPPER}][{_UPPER}'’.-]+(?: [{_UPPER}][{_UPPER}'’.-]+)*)(?=,)",
        lambda m: (
            m.group(1)
            if m.group(1) in LETTER_ACRONYMS or m.group(1) in WORD_ACRONYMS
            else m.group(1).title()
        ),
        text,
    )


def _sub_acronyms(text):
    def acronym(match):
        word, plural = match.group(1), match.group(2) or ""
        if word in WORD_ACRONYMS:
            return word + plural
        if word in LETTER_ACRONYMS or len(word) <= 3 or not _pronounceable(word):
            return _spell(word) + ("'s" if plural else "")
        return (word if len(word) <= 4 else word.title()) + plural

    return re.sub(r"\b([A-Z][A-Z&]*[A-Z])(s|'s|’s)?\b", acronym, text)


_ONSETS = {"bl", "br", "ch", "cl", "cr", "dr", "fl", "fr", "gl", "gr", "kl", "kn", "kr", "ph",
     "pl", "pr", "sc", "sh", "sk", "sl", "sm", "sn", "sp", "st", "sw", "th", "tr", "tw",
     "wh", "wr"}  # fmt: skip


def _pronounceable(word):
    """A rough test newsrooms apply: vowels, no long consonant runs, an onset
    English allows."""
    lower = word.lower()
    if "&" in lower or not re.search(r"[aeiouy]", lower):
        return False
    if re.search(r"[^aeiouy]{4,}", lower):
        return False
    onset = re.match(r"[^aeiouy]*", lower).group(0)
    return (
        len(onset) <= 1
        or onset[:2] in _ONSETS
        or onset in ("str", "spr", "scr", "spl", "thr", "shr")
    )


def _sub_symbols(text):
    text = text.replace("&", " and ")
    text = re.sub(r"(?<=\s)\+(?=\s)", " plus ", text)
    text = re.sub(r"(?<=\w)\+", " plus", text)
    text = re.sub(r"(?<![\w])@(\w+)", r"at \1", text)
    text = re.sub(r"~\s?", "about ", text)
    text = re.sub(r"§\s?", "section ", text)
    text = text.replace("%", " percent")
    text = text.replace("×", " by ")
    text = text.replace("=", " equals ")
    return text


def _clean(text):
    text = unicodedata.normalize("NFC", text)
    text = re.sub(r"[\u00a0\u2002-\u200a\u202f]", " ", text)
    text = text.replace("\u00ad", "").replace("\u200b", "")
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = text.replace("…", "...")
    return text


def _tidy(text):
    # Em dashes and spaced dashes are pauses.
    text = re.sub(r"\s?\u2014\s?|\s[\u2013-]\s", ", ", text)
    text = text.replace('"', "")
    text = re.sub(r"[\[\]{}*_|<>]", " ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r",\s*,", ",", text)
    text = re.sub(r"([,;:])(?=[^\s\d])", r"\1 ", text)
    text = re.sub(r"\(\s*", "(", text)
    text = re.sub(r"\s*\)", ")", text)
    text = re.sub(r"\s{2,}", " ", text)
    text = re.sub(r"^[\s,;:]+", "", text)
    return text.strip()


_RULES = [
    _sub_datelines,
    _sub_urls,
    _sub_service_numbers,
    _sub_parties,
    _sub_abbreviations,
    _sub_dotted_acronyms,
    _sub_currency,
    _sub_dates,
    _sub_times,
    _sub_decades,
    _sub_ranges,
    _sub_fractions,
    _sub_percent,
    _sub_units,
    _sub_ordinals,
    _sub_roman,
    _sub_years_and_numbers,
    _sub_acronyms,
    _sub_symbols,
]


def normalise(text):
    """One sentence of news text, rewritten in words a speech engine reads right."""
    text = _clean(text)
    for rule in _RULES:
        text = rule(text)
    return _tidy(text)


# --- Sentences -----------------------------------------------------------

_NEVER_FINAL = {
    *(k.lower() for k in TITLES),
    *(k.lower() for k in INNER_ABBREVIATIONS),
    *(k.lower() for k in MONTH_ABBREVIATIONS),
    "no",
    "nos",
    "st",
    "ste",
    "e.g",
    "i.e",
}
_MAYBE_FINAL = {
    *(k.lower() for k in TRAILING_ABBREVIATIONS),
    *(k.lower() for k in STATE_ABBREVIATIONS),
    "a.m",
    "p.m",
}
_BOUNDARY = re.compile(r"([.!?]+|\.\.\.)([\"'”’)\]]*)(\s+)")


def _next_word(rest):
    match = re.match(r"[\"'“‘(\[]*([^\s]+)", rest)
    return match.group(1) if match else ""


def _starts_sentence(word):
    return bool(word) and (word[0].isupper() or word[0].isdigit())


def _is_boundary(before, punctuation, after):
    next_word = _next_word(after)
    if not next_word:
        return True
    if not _starts_sentence(next_word) and not after.lstrip().startswith(('"', "“", "'")):
        return False
    if "!" in punctuation or "?" in punctuation or punctuation == "...":
        return True
    token = re.search(r"[\"'“‘(\[]*([^\s\"'“‘(\[]*)$", before).group(1)
    key = token.lower()
    bare = re.sub(r"[^\w.']", "", next_word)
    if key == "no" or key == "nos":
        return not next_word[0].isdigit()
    if key in _NEVER_FINAL:
        return False
    if re.fullmatch(r"[A-Z]", token):  # an initial: "John F. Kennedy"
        return bare in SENTENCE_STARTERS
    if key in _MAYBE_FINAL or re.fullmatch(r"(?:[a-z]{1,2}\.)+[a-z]{1,2}", key):
        return bare in SENTENCE_STARTERS
    return True


def split_sentences(text):
    """Sentences of a paragraph, in order, not broken at "Sec." or "U.S. Senate"."""
    text = _clean(text)
    sentences = []
    for line in re.split(r"\s*\n\s*", text.strip()):
        start = 0
        for match in _BOUNDARY.finditer(line):
            end = match.end(2)
            if _is_boundary(line[start : match.start(1)], match.group(1), line[match.end() :]):
                sentences.append(line[start:end].strip())
                start = match.end()
        if line[start:].strip():
            sentences.append(line[start:].strip())
    return [s for s in sentences if re.search(r"\w", s)]


def speakable(text):
    """Normalised sentences of a paragraph, each ending in punctuation."""
    result = []
    for sentence in split_sentences(text):
        spoken = normalise(sentence)
        if not re.search(r"\w", spoken):
            continue
        if not re.search(r"[.!?]['\")\]]*$", spoken):
            spoken = spoken.rstrip(",;:") + "."
        result.append(spoken)
    return result
