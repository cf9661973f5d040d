"""Adoption figures computed in SQL: a fixed number of queries whatever the campaign's size.

Each function takes the filter and a visibility scope (see visibility.aggregate_scope) and
returns plain data, so the map, the dashboard and the exports share one set of numbers.
Outside staff, rows are the named commitments; the unnamed ones enter only as the blocks
disclosure.py releases, added here in one place per figure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from sqlalchemy import Select, String, case, func, select, type_coerce
from sqlalchemy.orm import aliased

from campaign.accounts.models import User
from campaign.catalog.models import Policy, Priority
from campaign.commitments.disclosure import Level, level_of, release
from campaign.commitments.filters import AdoptionFilter
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.commitments.stages import LIVE_STAGES, Stage
from campaign.commitments.visibility import PUBLIC_SCOPE, scope_named
from campaign.extensions import db
from campaign.figures.cache import Footprints
from campaign.places.models import Jurisdiction, JurisdictionKind


def _base(columns, flt: AdoptionFilter, visible, *, scan: bool = True) -> Select:
    """Commitments in the filter that the scope may see; callers join only what they show.

    `scan`: the statement aggregates over the commitments. SQLite is then told to read the
    covering index `ix_commitment_figures` (every column the figures need, policy first)
    rather than walk a single-column index and fetch each row from the table, unless a
    state narrows the rows to a few.
    """
    stmt = select(*columns).select_from(Commitment).where(visible, *flt.conditions())
    if scan and not flt.state:
        stmt = stmt.with_hint(Commitment, "INDEXED BY ix_commitment_figures", "sqlite")
    return stmt


class JurisdictionSummary(NamedTuple):
    """One row of the map's figures, over plain values only (the kind's value, the counts as
    a tuple in LIVE_STAGES order).

    The cached figures keep these values as plain tuples (`JurisdictionFigures.rows`), which
    the garbage collector stops tracking; only what is shown is wrapped in this class. Kept
    as objects with an enum and a dict each, the ~20,000 rows per filter were walked by
    every full collection with the GIL held (~250 ms every few seconds under `make
    loadtest`)."""

    id: int
    key: str
    name: str
    kind_value: str
    state: str
    latitude: float | None
    longitude: float | None
    county_key: str | None
    population: int | None
    commitments: int
    policies: int
    stage_counts: tuple[int, ...]

    @property
    def kind(self) -> JurisdictionKind:
        return JurisdictionKind(self.kind_value)

    @property
    def label(self) -> str:
        return jurisdiction_label(self.name, self.kind_value, self.state)

    @property
    def furthest_index(self) -> int:
        return furthest_index(self.stage_counts)

    @property
    def furthest_stage(self) -> Stage:
        return LIVE_STAGES[self.furthest_index]


_FURTHEST_FIRST = [
    LIVE_STAGES.index(stage)
    for stage in (Stage.IMPLEMENTED, Stage.PASSED, Stage.INTRODUCED, Stage.PLEDGED)
]
_STALLED_INDEX = LIVE_STAGES.index(Stage.STALLED)
_STATE_KIND = JurisdictionKind.STATE.value


def jurisdiction_label(name: str, kind_value: str, state: str) -> str:
    """ "Springfield, IL"; a state is its name alone."""
    return name if kind_value == _STATE_KIND else f"{name}, {state}"


def furthest_index(stage_counts: tuple[int, ...]) -> int:
    """The most advanced live stage any of the commitments counted has reached, as an index
    into LIVE_STAGES (for code reading the plain rows, as the map's data does)."""
    for index in _FURTHEST_FIRST:
        if stage_counts[index]:
            return index
    return _STALLED_INDEX


@dataclass
class AreaTotals:
    """Commitments per state and per county; per state also the jurisdictions with a
    commitment and the population of the places with one (the dashboard's table of states).

    All from the scope's rows (outside staff: named commitments), except that a state's
    commitments include its released unnamed block when the filter is the whole nation
    (disclosure.py); `other_states` is the remainder of the held blocks (0, or a group too
    large to point at anyone). Counties, jurisdictions and populations never include
    unnamed commitments: shading a county or adding a town's population for one would
    point at the official who asked not to be named.
    """

    states: dict[str, int] = field(default_factory=dict)
    counties: dict[str, int] = field(default_factory=dict)
    state_jurisdictions: dict[str, int] = field(default_factory=dict)
    state_named_place_population: dict[str, int] = field(default_factory=dict)
    other_states: int = 0


@dataclass(frozen=True)
class JurisdictionFigures:
    """What the map shows: `rows`, every jurisdiction with a commitment the scope may name
    (JurisdictionSummary's fields as plain tuples), and `areas`, its state and county
    totals."""

    rows: list[tuple]
    areas: AreaTotals

    @property
    def summaries(self) -> list[JurisdictionSummary]:
        return [JurisdictionSummary._make(row) for row in self.rows]


def jurisdiction_figures(flt: AdoptionFilter, scope: str) -> JurisdictionFigures:
    """The commitments the scope may name, per jurisdiction, in one pass over them."""
    return _with_areas(_jurisdiction_rows(flt, scope), flt, scope)


def _jurisdiction_rows(
    flt: AdoptionFilter, scope: str, only: Collection[int] | None = None
) -> list[tuple]:
    """JurisdictionFigures.rows: every jurisdiction, or those in `only`."""

    def at(stage: Stage):
        return func.sum(case((Commitment.stage == stage, 1), else_=0))

    # Every row read is one the scope names (_base's condition): the counts need no
    # condition of their own, which SQLite would evaluate seven times per commitment.
    counts = _base(
        [
            Commitment.jurisdiction_id.label("jurisdiction_id"),
            func.count().label("named"),
            func.count(func.distinct(Commitment.policy_id)).label("policies"),
            *[at(stage).label(stage.value) for stage in LIVE_STAGES],
        ],
        flt,
        scope_named(scope),
        scan=only is None,
    )
    if only is not None:
        counts = counts.where(Commitment.jurisdiction_id.in_(only))
    counts = counts.group_by(Commitment.jurisdiction_id).subquery()
    stmt = select(
        Jurisdiction.id,
        Jurisdiction.key,
        Jurisdiction.name,
        type_coerce(Jurisdiction.kind, String),  # its value: see JurisdictionSummary
        Jurisdiction.state,
        Jurisdiction.latitude,
        Jurisdiction.longitude,
        Jurisdiction.county_key,
        Jurisdiction.population,
        counts.c.named,
        counts.c.policies,
        *[counts.c[stage.value] for stage in LIVE_STAGES],
    ).join(counts, counts.c.jurisdiction_id == Jurisdiction.id)
    # Core rows, not the ORM's, fetched at once: nothing here is an entity.
    return [(*row[:11], tuple(row[11:])) for row in db.session.connection().execute(stmt).all()]


def _with_areas(rows: list[tuple], flt: AdoptionFilter, scope: str) -> JurisdictionFigures:
    """The figures of these rows: their state and county totals, and for the nation the
    unnamed blocks disclosure.py releases (read now, whenever the rows were)."""
    states: dict[str, int] = defaultdict(int)
    counties: dict[str, int] = defaultdict(int)
    state_jurisdictions: dict[str, int] = defaultdict(int)
    named_population: dict[str, int] = defaultdict(int)
    county_kind, place_kind = JurisdictionKind.COUNTY.value, JurisdictionKind.PLACE.value
    for _id, key, _name, kind, state, _lat, _lon, county, population, total, _p, _s in rows:
        states[state] += total
        state_jurisdictions[state] += 1
        county_of = key if kind == county_kind else county
        if county_of is not None:
            counties[county_of] += total
        if kind == place_kind and population:
            named_population[state] += population
    other_states = 0
    if scope == PUBLIC_SCOPE and level_of(flt) is Level.NATION:
        released = release()
        for state, n in released.state_commitments.items():
            states[state] += n
        other_states = released.other_states_commitments
    areas = AreaTotals(
        dict(states),
        dict(counties),
        dict(state_jurisdictions),
        dict(named_population),
        other_states,
    )
    return JurisdictionFigures(rows, areas)


def after_withdrawals(
    figures: JurisdictionFigures, flt: AdoptionFilter, scope: str, footprints: Footprints
) -> JurisdictionFigures | None:
    """`figures` made exact after these withdrawals, at a fraction of a full computation's
    cost: the jurisdictions where they counted are read again and the released blocks read
    now; the other rows stay as old as they were (within the lag, as any cached figure).
    None when a footprint does not name its jurisdiction: the figures are computed again."""
    places = {footprint.get("jurisdiction") for footprint in footprints if flt.covers(footprint)}
    if None in places:
        return None
    fresh = _jurisdiction_rows(flt, scope, only=places) if places else []
    kept = [row for row in figures.rows if row[0] not in places]
    return _with_areas(kept + fresh, flt, scope)


def cached_jurisdiction_figures(flt: AdoptionFilter, scope: str) -> JurisdictionFigures:
    """The map's figures, cached (figures/cache.py): the dashboard's states come from them."""
    from campaign.figures.cache import cached

    return cached(
        ("map-figures", scope, flt.cache_key),
        lambda: jurisdiction_figures(flt, scope),
        unaffected_by=flt.unaffected_by,
        patch=lambda figures, footprints: after_withdrawals(figures, flt, scope, footprints),
    )


@dataclass
class Totals:
    """`by_stage` counts the scope's rows; `not_named` the released unnamed commitments
    that `commitments` includes but no breakdown shows (disclosure.py)."""

    officials: int
    jurisdictions: int
    commitments: int
    by_stage: dict[Stage, int]
    not_named: int = 0

    @property
    def funnel(self) -> list[tuple[str, int]]:
        """How many commitments reached each step of the main line (or went beyond it)."""
        s = self.by_stage
        implemented = s.get(Stage.IMPLEMENTED, 0)
        passed = implemented + s.get(Stage.PASSED, 0)
        introduced = passed + s.get(Stage.INTRODUCED, 0)
        pledged = introduced + s.get(Stage.PLEDGED, 0) + s.get(Stage.STALLED, 0)
        return [
            ("Pledged", pledged),
            ("Introduced", introduced),
            ("Passed", passed),
            ("Implemented", implemented),
        ]


PolicyStageCounts = dict[tuple[int, Stage], int]


def policy_stage_counts(flt: AdoptionFilter, scope: str) -> PolicyStageCounts:
    """Countable commitments in the filter per (policy, stage): the dashboard's policies and
    its totals by stage."""
    rows = db.session.execute(
        _base(
            [Commitment.policy_id, Commitment.stage, func.count(Commitment.id)],
            flt,
            scope_named(scope),
        ).group_by(Commitment.policy_id, Commitment.stage)
    )
    return {(policy_id, stage): n for policy_id, stage, n in rows}


def totals(
    flt: AdoptionFilter, scope: str, counts: PolicyStageCounts, figures: JurisdictionFigures
) -> Totals:
    """Officials, jurisdictions and commitments in the filter. Only the officials need a
    scan: the jurisdictions come from the map's figures and the commitments and stages from
    `counts` (both for the same filter and scope). The nation, and a state on its own, add
    the unnamed blocks disclosure.py releases."""
    officials = (
        db.session.scalar(
            _base([func.count(func.distinct(Commitment.official_id))], flt, scope_named(scope))
        )
        or 0
    )
    by_stage: dict[Stage, int] = defaultdict(int)
    for (_policy_id, stage), n in counts.items():
        by_stage[stage] += n
    jurisdictions = sum(figures.areas.state_jurisdictions.values())
    not_named = 0
    if scope == PUBLIC_SCOPE:
        released = release()
        not_named = released.commitments_for(flt)
        if level_of(flt) is Level.NATION:
            officials += released.nation_officials
            jurisdictions += released.nation_jurisdictions
    commitments = sum(by_stage.values()) + not_named
    return Totals(officials, jurisdictions, commitments, dict(by_stage), not_named)


@dataclass
class PolicyAdoption:
    policy_id: int
    slug: str
    title: str
    priority_title: str
    hostile_state_friendly: bool
    jurisdictions: int = 0
    by_stage: dict[Stage, int] = field(default_factory=dict)

    @property
    def commitments(self) -> int:
        return sum(self.by_stage.values())


def adoption_by_policy(
    flt: AdoptionFilter, scope: str, counts: PolicyStageCounts
) -> list[PolicyAdoption]:
    """Every policy in the filter, in toolkit order, with zero rows kept; commitments per
    stage from `counts` (policy_stage_counts for the same filter and scope)."""
    catalog = db.session.execute(
        select(
            Policy.id,
            Policy.slug,
            Policy.short_title,
            Priority.title,
            Policy.hostile_state_friendly,
        )
        .join(Priority, Policy.priority_id == Priority.id)
        .order_by(Priority.position, Policy.position)
    ).all()
    rows = {
        pid: PolicyAdoption(pid, slug, title, priority, bool(check))
        for pid, slug, title, priority, check in catalog
        if (not flt.policy or slug == flt.policy) and (not flt.hostile_only or check)
    }
    visible = scope_named(scope)
    for (pid, stage), n in counts.items():
        if pid in rows:
            rows[pid].by_stage[stage] = n
    jurisdiction_rows = db.session.execute(
        _base(
            [Commitment.policy_id, func.count(func.distinct(Commitment.jurisdiction_id))],
            flt,
            visible,
        ).group_by(Commitment.policy_id)
    )
    for pid, n in jurisdiction_rows:
        if pid in rows:
            rows[pid].jurisdictions = n
    if scope == PUBLIC_SCOPE and level_of(flt) is Level.NATION:
        for pid, n in release().policy_jurisdictions.items():
            if pid in rows:
                rows[pid].jurisdictions += n
    if flt.priority:
        keep = set(
            db.session.scalars(
                select(Policy.id)
                .join(Priority, Policy.priority_id == Priority.id)
                .where(Priority.slug == flt.priority)
            )
        )
        rows = {pid: row for pid, row in rows.items() if pid in keep}
    return list(rows.values())


def adoption_by_priority(policies: list[PolicyAdoption]) -> list[tuple[str, int, int]]:
    """(priority, commitments, policies) summed from the per-policy rows."""
    totals_by_priority: dict[str, list[int]] = {}
    for row in policies:
        entry = totals_by_priority.setdefault(row.priority_title, [0, 0])
        entry[0] += row.commitments
        entry[1] += 1
    return [(title, c, p) for title, (c, p) in totals_by_priority.items()]


@dataclass
class StateAdoption:
    state: str
    jurisdictions: int
    commitments: int
    population_committed: int
    population_known: int

    @property
    def population_share(self) -> float | None:
        if not self.population_known:
            return None
        return min(1.0, self.population_committed / self.population_known)


def adoption_by_state(figures: JurisdictionFigures) -> list[StateAdoption]:
    """Per state: jurisdictions and commitments, and the share of the population of its
    listed places living in a place with a *named* commitment.

    Built from the map's figures for the same filter and scope (one pass over the
    commitments serves both), so a state's commitments include its released unnamed block
    exactly where the map's do. The population uses named commitments only: summed over
    unnamed ones it would pinpoint the one town whose official asked not to be named.
    """
    areas = figures.areas
    known = known_place_population()
    return sorted(
        (
            StateAdoption(
                state,
                areas.state_jurisdictions.get(state, 0),
                commitments,
                areas.state_named_place_population.get(state, 0),
                known.get(state, 0),
            )
            for state, commitments in areas.states.items()
        ),
        key=lambda row: (-row.commitments, row.state),
    )


def known_place_population() -> dict[str, int]:
    from campaign.figures.cache import cached

    def compute() -> dict[str, int]:
        rows = db.session.execute(
            select(Jurisdiction.state, func.coalesce(func.sum(Jurisdiction.population), 0))
            .where(Jurisdiction.kind == JurisdictionKind.PLACE)
            .group_by(Jurisdiction.state)
        )
        return {state: int(total) for state, total in rows}

    # New places show within the lag, even to whoever added them: every progress report
    # would otherwise recompute it for its author's dashboard.
    return cached(("known_place_population",), compute, own_writes_may_lag=True)


def pledges_by_month(flt: AdoptionFilter, scope: str) -> list[tuple[str, int, int]]:
    """(YYYY-MM, pledges that month, running total), grouped by day in SQL for portability."""
    rows = db.session.execute(
        _base([Commitment.pledged_on, func.count(Commitment.id)], flt, scope_named(scope))
        .group_by(Commitment.pledged_on)
        .order_by(Commitment.pledged_on)
    )
    months: dict[str, int] = defaultdict(int)
    for day, n in rows:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        months[f"{day.year:04d}-{day.month:02d}"] += n
    running = 0
    result = []
    for month in sorted(months):
        running += months[month]
        result.append((month, months[month], running))
    return result


@dataclass(frozen=True)
class RecentChange:
    occurred_on: date
    stage: Stage
    policy_title: str
    jurisdiction_label: str
    official_name: str


def recent_changes(flt: AdoptionFilter, scope: str, limit: int = 10) -> list[RecentChange]:
    """The latest timeline entries the scope may name."""
    official = aliased(User)
    stmt = (
        _base(
            [
                TimelineEntry.occurred_on,
                TimelineEntry.stage,
                Policy.short_title,
                Jurisdiction.name,
                Jurisdiction.state,
                Jurisdiction.kind,
                official.name,
            ],
            flt,
            scope_named(scope),
            scan=False,
        )
        .join(TimelineEntry, TimelineEntry.commitment_id == Commitment.id)
        .join(Jurisdiction, Jurisdiction.id == Commitment.jurisdiction_id)
        .join(Policy, Policy.id == Commitment.policy_id)
        .join(official, official.id == Commitment.official_id)
        .order_by(TimelineEntry.recorded_at.desc(), TimelineEntry.id.desc())
        .limit(limit)
    )
    if not flt.state:
        # Newest entries first, stopping at `limit` matches: SQLite otherwise joins every
        # commitment to its timeline and sorts 200,000 rows (360 ms → 13 ms at that size).
        stmt = stmt.with_hint(TimelineEntry, "INDEXED BY ix_timeline_entry_recorded_at", "sqlite")
    return [
        RecentChange(
            when,
            stage,
            title,
            name if kind == JurisdictionKind.STATE else f"{name}, {state}",
            official_name,
        )
        for when, stage, title, name, state, kind, official_name in db.session.execute(stmt)
    ]


class NamedCommitment(NamedTuple):
    jurisdiction_name: str
    state: str
    jurisdiction_kind: str
    policy: str
    stage: Stage
    since: date
    official: str
    office: str | None


def named_commitments_in(key: str, flt: AdoptionFilter, scope: str) -> list[NamedCommitment]:
    """One jurisdiction's commitments this scope may name, by policy then official (the
    map's popup): visibility decides, never the viewer's role."""
    official = aliased(User)
    rows = db.session.execute(
        select(
            Jurisdiction.name,
            Jurisdiction.state,
            Jurisdiction.kind,
            Policy.short_title,
            Commitment.stage,
            Commitment.stage_changed_on,
            official.name,
            official.office_title,
        )
        .select_from(Commitment)
        .join(Jurisdiction, Commitment.jurisdiction_id == Jurisdiction.id)
        .join(Policy, Commitment.policy_id == Policy.id)
        .join(official, official.id == Commitment.official_id)
        .where(Jurisdiction.key == key, scope_named(scope), *flt.conditions())
        .order_by(Policy.priority_id, Policy.position, official.name)
    ).all()
    return [NamedCommitment(*row) for row in rows]
