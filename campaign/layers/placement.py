"""Placing a listed law-enforcement agency on the jurisdiction it belongs to.

"Colbert County Sheriff's Office" is Colbert County, "Mesa Police Department" is the city of
Mesa, "Florida Department of Law Enforcement" is Florida. The agency words are stripped here
and what is left goes to the app's one matcher (imports.matching.JurisdictionMatcher), the
same one spreadsheets and sign-up use, so "St." and "City of" are read alike everywhere.
What the matcher is not sure of comes back as candidates for a person to choose; what cannot
be a jurisdiction's own agency (a university's police, an airport's, a regional jail) is
offered with the state as a choice, and anything unplaced says why in plain words.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

from campaign.extensions import db
from campaign.imports.matching import JurisdictionMatcher
from campaign.places.matching import STATE_FIPS, STATES, normalize_name, parse_state
from campaign.places.models import Jurisdiction, JurisdictionKind
from campaign.places.search import Match, get_by_key

# Normalised agency words, longest first, stripped from the end of a name (repeatedly:
# "Sheriff's Office Jail" → "", then the place). Typos seen in ICE's lists are included.
AGENCY_WORDS = sorted(
    {
        "sheriffs office", "sheriff office", "sheriffs offic", "sheriffs ofice",
        "sheriffs department", "sheriff department", "sheriffs dept", "sheriff dept",
        "sheriff", "sheriffs", "police department", "police dept", "police", "pd",
        "department of public safety", "public safety department", "public safety",
        "dps", "constables office", "constable office", "constable", "marshals office",
        "marshal", "corrections department", "department of corrections",
        "corrections and rehabilitation", "corrections", "correctional facility",
        "detention center", "detention facility", "jail", "board of county commissioners",
        "board of commissioners", "criminal justice authority",
    },
    key=lambda w: (-len(w), w),
)  # fmt: skip
_SHERIFF = re.compile(r"\bsheriffs?\b")
_MUNICIPAL = re.compile(r"\b(police|public safety|constables?|marshals?)\b")
# Agencies that are no jurisdiction's own: offered as a choice, never placed by themselves.
_INSTITUTION = re.compile(
    r"\b(university|college|airport|school|task force|regional|district jail|authority"
    r"|seaport|transit|hospital|tribe|tribal)\b"
)
_COUNTY_WORDS = ("county", "parish", "borough")
NOT_GIVEN = {"", "n a", "na", "none", "null", "unknown", "tbd"}  # "#N/A" normalises to "n a"


class Placement(enum.StrEnum):
    PLACED = "placed"
    CHOOSE = "choose"
    UNPLACED = "unplaced"

    @property
    def label(self) -> str:
        return {
            "placed": "Placed",
            "choose": "Needs a choice",
            "unplaced": "Cannot be placed",
        }[self.value]


@dataclass
class Placed:
    """Where an agency goes, or the candidates, or why nowhere; `note` says how it was read."""

    outcome: Placement
    jurisdiction: Jurisdiction | None = None
    candidates: list[Match] = field(default_factory=list)
    reason: str = ""
    note: str = ""


def strip_agency_words(agency: str) -> str:
    """The place an agency's name names: "Knox County Sheriff’s Office" → "knox county"."""
    name = normalize_name(agency)
    changed = True
    while changed and name:
        changed = False
        for words in AGENCY_WORDS:
            if name == words:
                return ""
            if name.endswith(" " + words):
                name = name[: -len(words) - 1].strip()
                changed = True
                break
    if name.startswith("the "):
        name = name[4:]
    return name


def given(text: str) -> str:
    """A cell's text, or "" for the placeholders spreadsheets hold ("#N/A", "n/a", "-")."""
    cleaned = " ".join((text or "").split())
    return "" if normalize_name(cleaned) in NOT_GIVEN else cleaned


class AgencyPlacer:
    """Places agencies for one import; the matcher and the states are loaded once."""

    def __init__(self) -> None:
        self.matcher = JurisdictionMatcher()
        self._states: dict[str, Jurisdiction | None] = {}
        self._cache: dict[tuple[str, str, str, str], Placed] = {}

    def state_row(self, code: str) -> Jurisdiction | None:
        if code not in self._states:
            fips = STATE_FIPS.get(code)
            self._states[code] = get_by_key(fips) if fips else None
        return self._states[code]

    def place(self, agency: str, state_text: str, agency_type: str, county: str) -> Placed:
        """Where one listed agency belongs (cached by its spelling)."""
        key = (normalize_name(agency), normalize_name(state_text), normalize_name(agency_type),
               normalize_name(given(county)))  # fmt: skip
        if key not in self._cache:
            self._cache[key] = self._place(agency, state_text, agency_type, given(county))
        return self._cache[key]

    def _place(self, agency: str, state_text: str, agency_type: str, county: str) -> Placed:
        state = parse_state(state_text)
        if state is None:
            shown = state_text.strip() or "(empty)"
            return Placed(Placement.UNPLACED, reason=f"The state “{shown}” is not a US state.")
        state_name = STATES[state]
        name = normalize_name(agency)
        kind_text = normalize_name(agency_type)
        residual = strip_agency_words(agency)
        if _INSTITUTION.search(name):
            return self._institution(agency, state, county, residual)
        if "state" in kind_text.split():
            row = self.state_row(state)
            if row is None:
                return Placed(Placement.UNPLACED, reason=f"{state_name} is not in the gazetteer.")
            return Placed(Placement.PLACED, row, note="A state agency: placed on the state.")
        county_named = residual.endswith(_COUNTY_WORDS)
        if (
            _SHERIFF.search(name)
            or county_named
            or ("county" in kind_text.split() and not _MUNICIPAL.search(name))
        ):
            return self._county(agency, state, county, residual)
        return self._municipality(agency, state, county, residual)

    def _county(self, agency: str, state: str, county: str, residual: str) -> Placed:
        """A county agency: the COUNTY column names it, else the agency's own words do."""
        name = county or residual
        if not name:
            return Placed(
                Placement.UNPLACED, reason=f"“{agency}” names no county, and no county is given."
            )
        if not normalize_name(name).endswith(_COUNTY_WORDS):
            name = f"{name} County"
        found = self.matcher.match(name, state, office="county")
        if found.value is None and county and residual.endswith(_COUNTY_WORDS):
            # A misspelt COUNTY cell ("Allegancy") beside an agency that names its county.
            by_agency = self.matcher.match(residual, state, office="county")
            if by_agency.value is not None:
                note = f"The county “{county}” is not in the gazetteer; read from the agency."
                return Placed(Placement.PLACED, by_agency.value, note=note)
        if found.value is not None:
            note = ""
            if found.value.kind != JurisdictionKind.COUNTY:
                note = f"Placed on {found.value.label}, which the gazetteer holds as a city."
            return Placed(Placement.PLACED, found.value, note=note)
        if found.candidates:
            return Placed(
                Placement.CHOOSE,
                candidates=_kind_first(found.candidates, JurisdictionKind.COUNTY),
                reason=f"Choose which county “{name.strip()}, {state}” is.",
            )
        return Placed(
            Placement.UNPLACED,
            reason=f"No county called “{name.strip()}” in {STATES[state]} is in the gazetteer.",
        )

    def _municipality(self, agency: str, state: str, county: str, residual: str) -> Placed:
        """A municipal agency: its name without the agency words; the county tells apart."""
        if not residual:
            return Placed(Placement.UNPLACED, reason=f"“{agency}” names no city or town.")
        found = self.matcher.match(residual, state, office="city")
        if found.value is not None:
            note = ""
            if found.note:  # a city and a county share the name: the agency's kind settled it
                note = f"“{residual.title()}” is also a county's name: read as the city or town."
            return Placed(Placement.PLACED, found.value, note=note)
        candidates = _kind_first(found.candidates, JurisdictionKind.PLACE)
        in_county = self._in_county(candidates, county, state)
        if len(in_county) == 1:
            return Placed(
                Placement.PLACED,
                in_county[0].jurisdiction,
                note=f"“{residual.title()}” told apart by its county, {county}.",
            )
        if candidates:
            return Placed(
                Placement.CHOOSE,
                candidates=in_county or candidates,
                reason=f"Choose which city or town “{residual.title()}, {state}” is.",
            )
        return Placed(
            Placement.UNPLACED,
            reason=f"No city or town called “{residual.title()}” in {STATES[state]} is in the "
            "gazetteer.",
        )

    def _in_county(self, candidates: list[Match], county: str, state: str) -> list[Match]:
        if not county or not candidates:
            return []
        found = self.matcher.match(county, state, office="county")
        if found.value is None or found.value.kind != JurisdictionKind.COUNTY:
            return []
        exact = [m for m in candidates if m.exact and m.jurisdiction.county_key == found.value.key]
        return exact or [m for m in candidates if m.jurisdiction.county_key == found.value.key]

    def _institution(self, agency: str, state: str, county: str, residual: str) -> Placed:
        """A university's, airport's or regional body's agency: a person decides."""
        candidates: list[Match] = []
        if county:
            found = self.matcher.match(county, state, office="county")
            if found.value is not None:
                candidates.append(Match(found.value, None, True))
        state_row = self.state_row(state)
        if state_row is not None:
            candidates.append(Match(state_row, None, True))
        reason = (
            f"“{agency.strip()}” is not a county's, city's or state's own agency (a university, "
            "airport, regional body or task force): choose where it counts, or leave it unplaced."
        )
        return Placed(Placement.CHOOSE, candidates=candidates, reason=reason)


def _kind_first(candidates: list[Match], kind: JurisdictionKind) -> list[Match]:
    return sorted(candidates, key=lambda m: m.jurisdiction.kind != kind)


def jurisdiction_by_key(key: str) -> Jurisdiction | None:
    """A chosen jurisdiction (states included) by its key."""
    return get_by_key(key) if key else None


def load(ids: set[int]) -> dict[int, Jurisdiction]:
    """Jurisdictions by id, in one query per 500."""
    from sqlalchemy import select

    ordered = sorted(ids)
    found: dict[int, Jurisdiction] = {}
    for start in range(0, len(ordered), 500):
        stmt = select(Jurisdiction).where(Jurisdiction.id.in_(ordered[start : start + 500]))
        found.update({j.id: j for j in db.session.scalars(stmt)})
    return found
