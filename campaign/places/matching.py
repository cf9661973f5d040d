"""How typed names become comparable: case, accents, punctuation and abbreviations.

"St. Paul", "saint paul" and "ST PAUL " all normalise to "saint paul"; "Doña Ana Cnty" to
"dona ana county"; "Prince George's" to "prince georges". Both the stored gazetteer names and
what people type go through the same function, so they meet in the middle. The words
around a name ("City of Raleigh", "Hamilton Township", "Orleans Parish") are read once, by
`read_place_name`, for sign-up, staff spreadsheets and helpdesk mail alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from unidecode import unidecode

ABBREVIATIONS = {
    "st": "saint",
    "ste": "sainte",
    "ft": "fort",
    "mt": "mount",
    "mtn": "mountain",
    "pt": "point",
    "cnty": "county",
    "co": "county",
    "cty": "city",
    "twp": "township",
    "twnshp": "township",
    "vlg": "village",
    "hts": "heights",
    "spgs": "springs",
    "spg": "spring",
    "jct": "junction",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
    "isd": "independent school district",
    "usd": "unified school district",
    "sd": "school district",
}

_APOSTROPHES = re.compile(r"['’`´]")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize_name(text: str) -> str:
    """Lower-case ASCII words with abbreviations expanded; the key for matching names."""
    text = unidecode(text or "").lower()
    text = _APOSTROPHES.sub("", text)
    words = _NON_ALNUM.sub(" ", text).split()
    return " ".join(ABBREVIATIONS.get(w, w) for w in words)


# What people write around a name: "City of Raleigh", "Town of Cary", "Hamilton Township",
# "Orleans Parish", "Stockton city". The words say which kind of body they mean.
_PLACE_WORDS = ("city", "town", "village", "township")
_COUNTY_WORDS = ("county", "parish")
_KIND_WORDS = "|".join(_PLACE_WORDS + _COUNTY_WORDS)
_OF_PREFIX = re.compile(rf"^({_KIND_WORDS}) of (.+)$")
_KIND_SUFFIX = re.compile(rf"^(.+) ({_KIND_WORDS})$")


@dataclass(frozen=True)
class TypedPlace:
    """A place name as a person wrote it, read once for every matcher (sign-up, sheets, mail).

    `names` are the normalised names a gazetteer row may have for exactly what was typed
    ("bay" also means "bay county" or "bay city"); only when no row has one of them are the
    `fallback` names tried, the name without its "City of" or "Township", of `kind` ("place"
    or "county") when the words said which.
    """

    names: tuple[str, ...]
    fallback: tuple[str, ...] = ()
    kind: str | None = None

    @property
    def core(self) -> str:
        """The shortest name it may be: what a search by prefix starts from."""
        return self.fallback[0] if self.fallback else (self.names[0] if self.names else "")


def read_place_name(typed: str) -> TypedPlace:
    """What a typed place name may be called in the gazetteer, most literal first."""
    key = normalize_name(typed)
    if not key:
        return TypedPlace(())
    names = _unique(key, f"{key} county", f"{key} city")
    prefixed = _OF_PREFIX.match(key)
    suffixed = _KIND_SUFFIX.match(key)
    if prefixed:
        word, core = prefixed.groups()
    elif suffixed:
        core, word = suffixed.groups()
    else:
        return TypedPlace(names)
    if word in _COUNTY_WORDS:
        return TypedPlace(names, _unique(core, f"{core} county", f"{core} parish"), "county")
    return TypedPlace(names, _unique(core, f"{core} {word}", f"{core} city"), "place")


def _unique(*names: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(names))


# USPS codes and names of the 50 states and DC: used to read "Saint Paul, MN" or
# "springfield illinois" as a name plus a state.
STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
}  # fmt: skip

_STATE_BY_NAME = {normalize_name(name): code for code, name in STATES.items()}
_STATE_BY_NAME["washington dc"] = "DC"


def parse_state(text: str) -> str | None:
    """A USPS code from "MN", "mn", "Minnesota" or "MINNESOTA"; None if it is not a state."""
    cleaned = (text or "").strip()
    letters = "".join(ch for ch in cleaned if ch.isalpha())
    if len(letters) == 2 and len(cleaned) <= 5 and letters.upper() in STATES:
        return letters.upper()  # "MN", "mn", "D.C."
    return _STATE_BY_NAME.get(normalize_name(cleaned))


def split_state(query: str) -> tuple[str, str | None]:
    """Split "Saint Paul, MN" or "saint paul minnesota" into a name and a state code.

    A trailing state is only taken when something is left for the name, so "Minnesota" alone
    stays a search for the state itself, and "Kansas City" keeps its name.
    """
    if "," in query:
        head, _, tail = query.rpartition(",")
        state = parse_state(tail)
        if state and head.strip():
            return head.strip(), state
    words = query.split()
    for take in (3, 2, 1):
        if len(words) > take:
            candidate = " ".join(words[-take:])
            # A bare two-letter word is only a state when written in capitals ("Paul MN"),
            # so "Des Moines ia" is fine but "Fort Worth" never loses a word.
            if take == 1 and len(candidate) == 2 and not candidate.isupper():
                continue
            state = parse_state(candidate)
            if state:
                return " ".join(words[:-take]), state
    return query.strip(), None


# Census FIPS code of each state, to join our USPS codes to the boundary files.
STATE_FIPS = {
    "AK": "02", "AL": "01", "AR": "05", "AZ": "04", "CA": "06", "CO": "08", "CT": "09",
    "DC": "11", "DE": "10", "FL": "12", "GA": "13", "HI": "15", "IA": "19", "ID": "16",
    "IL": "17", "IN": "18", "KS": "20", "KY": "21", "LA": "22", "MA": "25", "MD": "24",
    "ME": "23", "MI": "26", "MN": "27", "MO": "29", "MS": "28", "MT": "30", "NC": "37",
    "ND": "38", "NE": "31", "NH": "33", "NJ": "34", "NM": "35", "NV": "32", "NY": "36",
    "OH": "39", "OK": "40", "OR": "41", "PA": "42", "RI": "44", "SC": "45", "SD": "46",
    "TN": "47", "TX": "48", "UT": "49", "VA": "51", "VT": "50", "WA": "53", "WI": "55",
    "WV": "54", "WY": "56",
}  # fmt: skip
