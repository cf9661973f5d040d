"""Turning what staff typed in a spreadsheet, or an official wrote in an email, into catalog
policies and gazetteer jurisdictions.

Certain matches are taken; anything less comes back as candidates for a person to pick, so an
import never guesses silently. Matchers cache per import: a 10,000-row sheet names the same
few hundred places and eleven policies over and over.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz
from sqlalchemy import select

from campaign.catalog.models import Policy
from campaign.catalog.toolkit import TOOLKIT
from campaign.extensions import db
from campaign.places.matching import (
    STATES,
    normalize_name,
    parse_state,
    read_place_name,
    split_state,
)
from campaign.places.models import Jurisdiction, JurisdictionKind
from campaign.places.search import Match, get_by_key, resolve_jurisdiction

POLICY_SURE = 88  # a loosely named policy is taken at or above this score...
POLICY_MARGIN = 8  # ...when the runner-up is this far behind
POLICY_CANDIDATE = 60


@dataclass
class Found:
    """One match or candidates. `note` says how a loose match was made, for the report."""

    value: object | None = None
    candidates: list = field(default_factory=list)
    note: str | None = None


def policy_terms() -> dict[str, list[str]]:
    """{policy slug: words people use for it}, from the toolkit."""
    return {
        policy["slug"]: policy.get("terms", [])
        for priority in TOOLKIT
        for policy in priority["policies"]
    }


class PolicyMatcher:
    def __init__(self) -> None:
        self.policies = list(db.session.scalars(select(Policy).order_by(Policy.position)))
        terms = policy_terms()
        self._names: dict[str, Policy] = {}
        for policy in self.policies:
            names = (policy.slug, policy.title, policy.short_title, *terms.get(policy.slug, []))
            for name in names:
                self._names.setdefault(normalize_name(name), policy)
        self._cache: dict[str, Found] = {}
        self._terms = [
            (re.compile(rf"\b{re.escape(normalize_name(term))}\b"), policy)
            for policy in self.policies
            for term in (policy.short_title, *terms.get(policy.slug, []))
            if normalize_name(term)
        ]

    def match(self, text: str) -> Found:
        key = normalize_name(text)
        if key not in self._cache:
            self._cache[key] = self._match(key, text)
        return self._cache[key]

    def _match(self, key: str, text: str) -> Found:
        if not key:
            return Found(note="no policy given")
        if key in self._names:
            return Found(self._names[key])
        scores: dict[int, float] = {}
        for name, policy in self._names.items():
            score = fuzz.token_set_ratio(key, name)
            scores[policy.id] = max(scores.get(policy.id, 0), score)
        ranked = sorted(self.policies, key=lambda p: -scores[p.id])
        best, runner_up = ranked[0], ranked[1] if len(ranked) > 1 else None
        best_score = scores[best.id]
        runner_score = scores[runner_up.id] if runner_up else 0
        if best_score >= POLICY_SURE and best_score - runner_score >= POLICY_MARGIN:
            return Found(best, note=f"“{text}” read as “{best.short_title}”")
        candidates = [p for p in ranked[:3] if scores[p.id] >= POLICY_CANDIDATE]
        return Found(candidates=candidates)

    def mentioned_in(self, text: str) -> list[Policy]:
        """Policies whose title or key terms appear in free text, in catalog order."""
        haystack = normalize_name(text)
        found = {policy.id for pattern, policy in self._terms if pattern.search(haystack)}
        return [p for p in self.policies if p.id in found]


class JurisdictionMatcher:
    """Exact FIPS key first, then name with state, then close matches as candidates.

    Exact names are looked up in an in-memory index of the gazetteer built once per import
    (a 10,000-row sheet would otherwise run thousands of LIKE scans); anything not settled
    by an exact name falls back to the search people use, typo tolerance included.
    """

    def __init__(self) -> None:
        self._cache: dict[tuple, Found] = {}
        self._loaded: dict[int, Jurisdiction] = {}
        self._by_name: dict[str, list[tuple[int, str, JurisdictionKind]]] = defaultdict(list)
        rows = db.session.execute(
            select(
                Jurisdiction.id, Jurisdiction.search_name, Jurisdiction.state, Jurisdiction.kind
            ).where(Jurisdiction.confirmed)
        )
        for jurisdiction_id, search_name, state, kind in rows:
            self._by_name[search_name].append((jurisdiction_id, state, kind))

    def match(self, name: str, state_text: str = "", fips: str = "", office: str = "") -> Found:
        hint = kind_hint(office)
        key = (normalize_name(name), (state_text or "").strip().lower(), (fips or "").strip(), hint)
        if key not in self._cache:
            self._cache[key] = self._match(name, state_text, fips, hint)
        found = self._cache[key]
        if isinstance(found.value, int):  # an exact name: load the row (once)
            found.value = self._loaded.get(found.value) or db.session.get(Jurisdiction, found.value)
        return found

    def prefetch(self, queries: list[tuple[str, str, str, str]]) -> None:
        """Match many (name, state, fips, office) at once, loading rows in a few queries."""
        for name, state_text, fips, office in queries:
            hint = kind_hint(office)
            key = (normalize_name(name), state_text.strip().lower(), fips.strip(), hint)
            if key not in self._cache:
                self._cache[key] = self._match(name, state_text, fips, hint)
        ids = sorted({f.value for f in self._cache.values() if isinstance(f.value, int)})
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            stmt = select(Jurisdiction).where(Jurisdiction.id.in_(chunk))
            # Held here: the session's identity map keeps only weak references.
            self._loaded.update({j.id: j for j in db.session.scalars(stmt)})

    def _match(self, name: str, state_text: str, fips: str, hint: JurisdictionKind | None) -> Found:
        fips = "".join(ch for ch in fips if ch.isdigit())
        if fips:
            if len(fips) in (1, 4):  # a spreadsheet dropped the leading zero: 6 for "06"
                fips = "0" + fips
            found = get_by_key(fips) if len(fips) in (2, 5) else None
            if found is not None:
                return Found(found)
            if not name:
                return Found(note=f"no jurisdiction has FIPS code {fips}")
        state = parse_state(state_text) if state_text else None
        if state_text and state is None:
            return Found(note=f"“{state_text}” is not a US state")
        if not normalize_name(name):
            return Found(note="no jurisdiction given")
        query = f"{name}, {state}" if state else name
        exact, note = self._exact(query, hint)
        if exact is not None:
            return Found(exact, note=note)  # an id until prefetch() loads the rows
        resolution = resolve_jurisdiction(query)
        if resolution.jurisdiction is not None:
            return Found(resolution.jurisdiction)
        if resolution.candidates:
            return Found(candidates=resolution.candidates)
        where = f" in {STATES[state]}" if state else ""
        return Found(note=f"no jurisdiction called “{name}”{where}")

    def _exact(self, query: str, hint: JurisdictionKind | None) -> tuple[int | None, str | None]:
        """The one row whose name is exactly this (as resolve_jurisdiction means it), if any.

        When a city and a county share the name ("Dallas, TX"), the office settles it if it
        says which ("County Commissioner"); the report notes that it did.
        """
        name, state = split_state(query)
        typed = read_place_name(name)
        rows = self._named(typed.names, state, None)
        if not rows and typed.fallback:  # "City of Raleigh": Raleigh, the place
            kind = JurisdictionKind(typed.kind) if typed.kind else None
            rows = self._named(typed.fallback, state, kind)
        if len(rows) == 1:
            return rows[0][0], None
        of_kind = [jurisdiction_id for jurisdiction_id, kind in rows if kind == hint]
        if hint is not None and len(of_kind) == 1:
            return of_kind[0], f"“{query}” read as the {hint.label.lower()}, from the office"
        return None, None

    def _named(
        self, names: tuple[str, ...], state: str | None, kind: JurisdictionKind | None
    ) -> list[tuple[int, JurisdictionKind]]:
        return [
            (jurisdiction_id, row_kind)
            for candidate in names
            for jurisdiction_id, row_state, row_kind in self._by_name.get(candidate, ())
            if (state is None or row_state == state) and (kind is None or row_kind == kind)
        ]


_COUNTY_OFFICE = {"county", "commissioner", "commissioners", "supervisor", "supervisors",
                  "freeholder", "parish", "borough assembly"}  # fmt: skip
_CITY_OFFICE = {"city", "council", "councilmember", "councilor", "councillor", "mayor",
                "alder", "alderman", "alderwoman", "alderperson", "selectboard", "selectman",
                "town", "village"}  # fmt: skip


def kind_hint(office: str) -> JurisdictionKind | None:
    """What kind of body an office title points to: "County Commissioner" → county."""
    words = set(normalize_name(office).split())
    if words & _COUNTY_OFFICE:
        return JurisdictionKind.COUNTY
    if words & _CITY_OFFICE:
        return JurisdictionKind.PLACE
    return None


# Capitalised words on one line: "Saint Paul", "Prince George's", "Doña Ana".
_WORDS = r"(?:[A-Z][\w'.’-]*[ ]){0,3}[A-Z][\w'.’-]*"
# "City of Saint Paul", "Town of Chapel Hill": the whole phrase, read by read_place_name
_OF_PLACE = re.compile(rf"\b((?:City|Town|Village|Township|County|Parish) of {_WORDS})")
_BOROUGH_OF = re.compile(rf"\bBorough of ({_WORDS})")
# "Dona Ana County", "Orleans Parish", "Hamilton Township"
_COUNTY = re.compile(rf"\b({_WORDS}[ ](?:County|Parish|Borough|Township))\b")
# "Saint Paul, MN", "Bay City, Michigan"
_STATE_NAMES = "|".join(sorted((re.escape(n) for n in STATES.values()), key=len, reverse=True))
_WITH_STATE = re.compile(rf"\b({_WORDS}),[ ]?({_STATE_NAMES}|[A-Z]{{2}})\b")
MAX_TEXT_SCAN = 20_000


def jurisdictions_mentioned(text: str, limit: int = 3) -> list[Jurisdiction]:
    """Places a message names ("City of X", "X County", "X, ST"), most mentioned first.

    A phrase may start with words that are not part of the name ("Sanctuary Bay County",
    "Hello Saint Paul, MN"): the longest ending of it that names exactly one gazetteer row
    counts. Anything vaguer is left for staff, who see the message beside the suggestion.
    """
    text = text[:MAX_TEXT_SCAN]
    phrases: list[tuple[str, str]] = []  # (name words, state or "")
    for match in _WITH_STATE.finditer(text):
        if parse_state(match.group(2)):
            phrases.append((match.group(1), match.group(2)))
    phrases += [(m.group(1), "") for m in _COUNTY.finditer(text)]
    phrases += [(m.group(1), "") for m in _OF_PLACE.finditer(text)]
    phrases += [(m.group(1), "") for m in _BOROUGH_OF.finditer(text)]
    counts: dict[int, int] = {}
    rows: dict[int, Jurisdiction] = {}
    resolved: dict[tuple[str, str], Jurisdiction | None] = {}
    for words, state in phrases:
        if (words, state) not in resolved:
            resolved[(words, state)] = _longest_exact_ending(words, state)
        jurisdiction = resolved[(words, state)]
        if jurisdiction is not None:
            rows[jurisdiction.id] = jurisdiction
            counts[jurisdiction.id] = counts.get(jurisdiction.id, 0) + 1
    ranked = sorted(rows, key=lambda jid: -counts[jid])
    return [rows[jid] for jid in ranked[:limit]]


def _longest_exact_ending(words: str, state: str) -> Jurisdiction | None:
    parts = words.split()
    for start in range(len(parts)):
        name = " ".join(parts[start:])
        if name.lower() in ("county", "parish", "borough", "township") or name.startswith("of "):
            break
        resolution = resolve_jurisdiction(f"{name}, {state}" if state else name)
        if resolution.jurisdiction is not None:
            return resolution.jurisdiction
    return None


def candidate_label(candidate) -> str:
    if isinstance(candidate, Match):
        return f"{candidate.jurisdiction.label} — {candidate.description}"
    if isinstance(candidate, Policy):
        return candidate.short_title
    return str(candidate)
