"""Find jurisdictions from what a person typed, and resolve a typed name to one row.

Exact and prefix matches come from SQL; when they run short, close matches (typos) come from
rapidfuzz over a per-process list of names, so "Sant Paul" still offers Saint Paul. Nothing is
ever picked silently when more than one row fits: the caller gets candidates to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from rapidfuzz import fuzz, process
from sqlalchemy import case, func, or_, select

from campaign.extensions import db
from campaign.places.matching import normalize_name, read_place_name, split_state
from campaign.places.models import Jurisdiction, JurisdictionKind

KIND_ORDER = case(
    (Jurisdiction.kind == JurisdictionKind.STATE, 0),
    (Jurisdiction.kind == JurisdictionKind.COUNTY, 1),
    (Jurisdiction.kind == JurisdictionKind.PLACE, 2),
    else_=3,
)
FUZZY_CUTOFF = 80


@dataclass(frozen=True)
class Match:
    jurisdiction: Jurisdiction
    county_name: str | None
    exact: bool

    @property
    def description(self) -> str:
        """What tells two Springfields apart: kind, county and population."""
        j = self.jurisdiction
        parts = [j.kind.label]
        if self.county_name and j.kind != JurisdictionKind.COUNTY:
            parts.append(self.county_name)
        if j.population:
            parts.append(f"pop. {j.population:,}")
        if not j.confirmed:
            parts.append("awaiting confirmation")
        return " · ".join(parts)


@dataclass
class Resolution:
    jurisdiction: Jurisdiction | None
    candidates: list[Match] = field(default_factory=list)


def search_jurisdictions(query: str, limit: int = 10) -> list[Match]:
    """Rows that fit the query, best first: exact, then starts-with, then word matches.

    The name is read by `read_place_name`, as every matcher reads it: when nothing is called
    exactly what was typed, "City of Raleigh" is looked for as Raleigh, a place.
    """
    name, state = split_state(query or "")
    typed = read_place_name(name)
    if not typed.names:
        return []
    matches = _search(typed.names[0], state, limit, set(typed.names), None)
    if typed.fallback and not any(m.exact for m in matches):
        kind = JurisdictionKind(typed.kind) if typed.kind else None
        loose = _search(typed.core, state, limit, set(typed.fallback), kind)
        seen = {m.jurisdiction.id for m in loose}
        matches = (loose + [m for m in matches if m.jurisdiction.id not in seen])[:limit]
    return matches


def _search(
    needle: str, state: str | None, limit: int, exact_names: set[str], kind: JurisdictionKind | None
) -> list[Match]:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    conditions = [
        Jurisdiction.search_name.like(f"{escaped}%", escape="\\"),
        Jurisdiction.search_name.like(f"% {escaped}%", escape="\\"),
    ]
    stmt = select(Jurisdiction).where(or_(*conditions), Jurisdiction.searchable())
    if state:
        stmt = stmt.where(Jurisdiction.state == state)
    if kind:
        stmt = stmt.where(Jurisdiction.kind == kind)
    stmt = stmt.order_by(
        case((Jurisdiction.search_name == needle, 0), else_=1),
        case((Jurisdiction.search_name.in_(sorted(exact_names)), 0), else_=1),
        case((Jurisdiction.search_name.like(f"{escaped}%", escape="\\"), 0), else_=1),
        KIND_ORDER,
        Jurisdiction.population.desc().nulls_last(),
        Jurisdiction.name,
    ).limit(limit)
    found = list(db.session.scalars(stmt))
    if len(found) < min(limit, 3) and len(needle) >= 3:
        seen = {j.id for j in found}
        for jurisdiction_id in _fuzzy_ids(needle, state, limit):
            if jurisdiction_id not in seen and len(found) < limit:
                row = db.session.get(Jurisdiction, jurisdiction_id)
                if kind is None or row.kind == kind:
                    found.append(row)
                    seen.add(jurisdiction_id)
    counties = _county_names({j.county_key for j in found if j.county_key})
    return [Match(j, counties.get(j.county_key or ""), j.search_name in exact_names) for j in found]


def resolve_jurisdiction(text: str, key: str | None = None) -> Resolution:
    """One row when the choice is certain, otherwise the candidates a person should pick from.

    Certain means: the type-ahead supplied a key whose label matches the text, or exactly one
    row's normalised name equals the typed name (within the typed state, if any). "Dona Ana"
    is not certain: it fits both the town of Doña Ana and Doña Ana County.
    """
    text = (text or "").strip()
    if key:
        chosen = get_by_key(key)
        if chosen and (not text or normalize_name(chosen.label) == normalize_name(text)):
            return Resolution(chosen)
    matches = search_jurisdictions(text)
    exact = [m for m in matches if m.exact]
    if len(exact) == 1:
        return Resolution(exact[0].jurisdiction, matches)
    return Resolution(None, matches)


def get_by_key(key: str) -> Jurisdiction | None:
    """A confirmed gazetteer row by its key (bodies awaiting confirmation are not offered)."""
    return db.session.scalar(
        select(Jurisdiction).where(Jurisdiction.key == key, Jurisdiction.confirmed)
    )


def _county_names(keys: set[str]) -> dict[str, str]:
    if not keys:
        return {}
    rows = db.session.execute(
        select(Jurisdiction.key, Jurisdiction.name).where(Jurisdiction.key.in_(keys))
    )
    return {key: name for key, name in rows}


def _fuzzy_ids(needle: str, state: str | None, limit: int) -> list[int]:
    # Rows added or confirmed change the signature, and so rebuild the index.
    signature = db.session.execute(
        select(func.count(Jurisdiction.id), func.max(Jurisdiction.id)).where(
            Jurisdiction.searchable()
        )
    ).one()
    names = _name_index(tuple(signature), db.engine.url.render_as_string())
    choices = {jid: row[0] for jid, row in names.items() if not state or row[1] == state}
    results = process.extract(
        needle, choices, scorer=fuzz.ratio, limit=limit * 3, score_cutoff=FUZZY_CUTOFF
    )
    # Among equally close names, the larger place is the likelier meaning.
    results.sort(key=lambda r: (-round(r[1]), -(names[r[2]][2] or 0)))
    return [jid for _name, _score, jid in results[:limit]]


@lru_cache(maxsize=4)
def _name_index(signature: tuple, database: str) -> dict[int, tuple[str, str, int | None]]:
    """(name, state, population) by id; rebuilt when rows are added (the signature changes)."""
    rows = db.session.execute(
        select(
            Jurisdiction.id, Jurisdiction.search_name, Jurisdiction.state, Jurisdiction.population
        ).where(Jurisdiction.searchable())
    )
    return {jid: (name, state, population) for jid, name, state, population in rows}
