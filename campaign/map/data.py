"""Shapes of the map's data: the compact payload, popup details, the table and exports."""

from __future__ import annotations

from dataclasses import dataclass

from campaign.commitments.aggregates import (
    LIVE_STAGES,
    JurisdictionFigures,
    JurisdictionSummary,
    furthest_index,
    jurisdiction_label,
    named_commitments_in,
)
from campaign.commitments.filters import AdoptionFilter
from campaign.places.matching import STATE_FIPS
from campaign.places.models import JurisdictionKind

MARKER_KIND_VALUES = frozenset(
    kind.value
    for kind in (JurisdictionKind.PLACE, JurisdictionKind.SCHOOL_DISTRICT, JurisdictionKind.OTHER)
)
EXPORT_HEADER = [
    "key", "jurisdiction", "kind", "state", "county_fips", "latitude", "longitude",
    "commitments", "policies", "furthest_stage",
    *[f"{stage.value}" for stage in LIVE_STAGES],
]  # fmt: skip


def map_payload(figures: JurisdictionFigures) -> dict:
    """Everything the map draws, as columns rather than objects to keep it small.

    `points` are the cities, districts and other bodies with named commitments (the same
    summaries as the map page's table); `states` (by FIPS) count every countable commitment;
    `counties` (by FIPS) count named ones.
    """
    areas = figures.areas
    # The plain rows, unpacked in JurisdictionSummary's order: wrapping ~19,000 of them in
    # it took as long as the rest of the payload.
    points = [
        [key, jurisdiction_label(name, kind, state), kind, round(lat, 4), round(lon, 4),
         commitments, furthest_index(stage_counts)]
        for (_id, key, name, kind, state, lat, lon, _county, _population, commitments,
             _policies, stage_counts) in figures.rows
        if kind in MARKER_KIND_VALUES and lat is not None and lon is not None
    ]  # fmt: skip
    return {
        "stages": [stage.label for stage in LIVE_STAGES],
        "fields": ["key", "label", "kind", "lat", "lon", "commitments", "stage"],
        "points": points,
        "states": {STATE_FIPS[st]: n for st, n in areas.states.items() if st in STATE_FIPS},
        "counties": areas.counties,
    }


def jurisdiction_detail(key: str, flt: AdoptionFilter, scope: str) -> dict | None:
    """A popup's content: the jurisdiction's named commitments by policy and stage."""
    rows = named_commitments_in(key, flt, scope)
    if not rows:
        return None
    first = rows[0]
    return {
        "label": first.jurisdiction_name
        if first.jurisdiction_kind == JurisdictionKind.STATE
        else f"{first.jurisdiction_name}, {first.state}",
        "kind": JurisdictionKind(first.jurisdiction_kind).label,
        "commitments": [
            {
                "policy": row.policy,
                "stage": row.stage.label,
                "since": row.since.isoformat(),
                "official": row.official,
                "office": row.office or "",
            }
            for row in rows
        ],
    }


@dataclass
class TablePage:
    rows: list[JurisdictionSummary]
    page: int
    pages: int
    sort: str
    descending: bool
    total: int
    commitments: int


@dataclass(frozen=True)
class SortedSummaries:
    rows: list[tuple]  # plain tuples, as JurisdictionFigures keeps them
    sort: str
    descending: bool
    commitments: int


SORT_KEYS = {
    "name": lambda s: (s.name.casefold(), s.state),
    "state": lambda s: (s.state, s.name.casefold()),
    "commitments": lambda s: (s.commitments, s.policies),
    "stage": lambda s: (s.furthest_stage.rank, s.commitments),
}


def sort_summaries(
    summaries: list[JurisdictionSummary], *, sort: str, descending: bool
) -> SortedSummaries:
    """The table's order; an unknown sort falls back to most commitments first."""
    if sort not in SORT_KEYS:
        sort, descending = "commitments", True
    return SortedSummaries(
        [tuple(s) for s in sorted(summaries, key=SORT_KEYS[sort], reverse=descending)],
        sort,
        descending,
        sum(s.commitments for s in summaries),
    )


def paginate(ordered: SortedSummaries, *, page: str, page_size: int) -> TablePage:
    """One page of the table; a page number out of range or not a number shows the nearest."""
    pages = max(1, -(-len(ordered.rows) // page_size))
    try:
        number = min(max(int(page), 1), pages)
    except ValueError:
        number = 1
    start = (number - 1) * page_size
    return TablePage(
        [JurisdictionSummary._make(row) for row in ordered.rows[start : start + page_size]],
        number,
        pages,
        ordered.sort,
        ordered.descending,
        len(ordered.rows),
        ordered.commitments,
    )


def export_rows(summaries: list[JurisdictionSummary]):
    for s in summaries:
        county = s.key if s.kind_value == JurisdictionKind.COUNTY.value else s.county_key
        yield [
            s.key, s.label, s.kind.label, s.state, county or "", s.latitude, s.longitude,
            s.commitments, s.policies, s.furthest_stage.label,
            *s.stage_counts,
        ]  # fmt: skip
