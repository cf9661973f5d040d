"""The neighbouring-campaign rule, as a property (hypothesis).

For random small campaigns, adding one unnamed commitment may change a figure that anyone
but staff sees below the national level only if the figure's cell holds, before and after,
at least K jurisdictions with unnamed commitments; and a figure whose cell does not contain
the new commitment may not change at all. The cells are worked out here, by this test's
own model of what each figure covers, from the generated data alone.

Figures read: the map's data for a set of filters, the dashboard's figures for the same
filters (totals, per policy, per state, per stage, per month, recent changes; the CSVs are
written from these), the home page's count per policy, each policy page's lists and its
"more not named" count, and the organizers' directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from campaign.accounts.models import AccountOrigin, User
from campaign.accounts.roles import Role
from campaign.commitments.aggregates import jurisdiction_figures
from campaign.commitments.filters import STAGE_THRESHOLDS, AdoptionFilter
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.operations import jurisdictions_committed_per_policy, policy_adoption
from campaign.commitments.stages import MAIN_LINE, Stage
from campaign.commitments.visibility import PUBLIC_SCOPE
from campaign.dashboard.figures import dashboard_figures
from campaign.directory.queries import directory
from campaign.extensions import db
from campaign.figures import cache
from campaign.map.data import map_payload
from campaign.places.matching import STATE_FIPS
from campaign.timeutil import utcnow

K = 3
STATES = ("WY", "MT")
PLACES_PER_STATE = 6
STAGES = (Stage.PLEDGED, Stage.INTRODUCED, Stage.PASSED, Stage.STALLED, Stage.WITHDRAWN)
MONTHS = (date(2026, 1, 5), date(2026, 2, 5))


@dataclass(frozen=True)
class Row:
    """One generated commitment, as this test's model knows it."""

    place: int  # index into the fixed jurisdictions
    policy: int  # 0 or 1
    visibility: Visibility
    stage: Stage
    verified: bool
    month: int

    @property
    def state(self) -> str:
        return STATES[self.place // PLACES_PER_STATE]

    @property
    def unnamed(self) -> bool:
        return (
            self.visibility == Visibility.COUNTED
            and self.verified
            and self.stage != Stage.WITHDRAWN
        )


rows = st.builds(
    Row,
    place=st.integers(0, len(STATES) * PLACES_PER_STATE - 1),
    policy=st.integers(0, 1),
    visibility=st.sampled_from([Visibility.PUBLIC, Visibility.COUNTED, Visibility.PRIVATE]),
    stage=st.sampled_from(STAGES),
    verified=st.booleans(),
    month=st.integers(0, 1),
)
# Campaigns weighted towards unnamed commitments, so blocks cross the threshold often.
campaigns = st.lists(
    st.one_of(
        rows,
        st.builds(
            Row,
            place=st.integers(0, len(STATES) * PLACES_PER_STATE - 1),
            policy=st.integers(0, 1),
            visibility=st.just(Visibility.COUNTED),
            stage=st.sampled_from(STAGES[:3]),
            verified=st.just(True),
            month=st.integers(0, 1),
        ),
    ),
    max_size=22,
)
additions = st.builds(
    Row,
    place=st.integers(0, len(STATES) * PLACES_PER_STATE - 1),
    policy=st.integers(0, 1),
    visibility=st.just(Visibility.COUNTED),
    stage=st.sampled_from(STAGES[:4]),
    verified=st.just(True),
    month=st.integers(0, 1),
)


@pytest.fixture
def world(app, make, catalog):
    """Fixed places and policies; commitments are made per example."""
    places = []
    for state in STATES:
        for n in range(PLACES_PER_STATE):
            places.append(
                make.jurisdiction(
                    f"{state} town {n}",
                    state,
                    key=f"{state.lower()}{n}",
                    county_key=f"{STATE_FIPS[state]}00{n % 2}",
                    population=1000 * (n + 1),
                    latitude=44.0 + n / 10,
                    longitude=-105.0 - n / 10,
                )
            )
    # Two policies of different priorities, so a priority filter is a real cut.
    first = catalog[0]
    second = next(p for p in catalog if p.priority_id != first.priority_id)
    organizer = make.user(Role.ORGANIZER, email="org@example.org")
    filters = [AdoptionFilter()]
    filters += [AdoptionFilter(state=s) for s in STATES]
    filters += [AdoptionFilter(policy=p.slug) for p in (first, second)]
    filters += [AdoptionFilter(stage=s) for s in ("introduced", "passed")]
    filters += [AdoptionFilter(priority=first.priority.slug)]
    filters += [AdoptionFilter(state="WY", policy=second.slug)]
    filters += [AdoptionFilter(state="MT", stage="introduced")]
    return {
        "places": places,
        "policies": (first, second),
        "organizer": organizer,
        "filters": filters,
    }


def _make(world, row: Row, n: int) -> None:
    place = world["places"][row.place]
    now = utcnow()
    official = User(
        email=f"o{n}@example.org",
        email_normalized=f"o{n}@example.org",
        name=f"Official {n}",
        role=Role.OFFICIAL,
        jurisdiction_id=place.id,
        origin=AccountOrigin.SIGNUP,
        email_confirmed_at=now,
        verified_at=now if row.verified else None,
    )
    on = MONTHS[row.month]
    commitment = Commitment(
        official=official,
        policy=world["policies"][row.policy],
        jurisdiction_id=place.id,
        visibility=row.visibility,
        stage=row.stage,
        furthest_stage=row.stage if row.stage.on_main_line else Stage.PLEDGED,
        pledged_on=on,
        stage_changed_on=on,
    )
    commitment.timeline.add(TimelineEntry(stage=Stage.PLEDGED, occurred_on=on))
    db.session.add_all([official, commitment])


def _figures(world) -> dict[tuple, object]:
    """Every figure outside staff, keyed by (surface, filter, row...) for _cell below."""
    cache.clear()
    found: dict[tuple, object] = {}
    for flt in world["filters"]:
        places = jurisdiction_figures(flt, PUBLIC_SCOPE)
        payload = map_payload(places)
        for fips, n in payload["states"].items():
            found[("map-state", flt, fips)] = n
        for county, n in payload["counties"].items():
            found[("map-county", flt, county)] = n
        for point in payload["points"]:
            found[("map-point", flt, point[0])] = tuple(point)
        figures = dashboard_figures(flt, PUBLIC_SCOPE)
        t = figures.totals
        found[("totals", flt)] = (t.officials, t.jurisdictions, t.commitments)
        for stage, n in t.by_stage.items():
            found[("stage", flt, stage)] = n
        for p in figures.policies:
            found[("policy-row", flt, p.policy_id)] = (p.jurisdictions, tuple(p.by_stage.items()))
        for s in figures.states:
            found[("state-row", flt, s.state)] = (
                s.jurisdictions,
                s.commitments,
                s.population_committed,
            )
        for month, added, _running in figures.months:
            found[("month", flt, month)] = added
        found[("recent", flt)] = tuple(figures.recent)
        found[("other-states", flt)] = figures.other_states
    from flask_login import AnonymousUserMixin

    anonymous = AnonymousUserMixin()
    for pid, n in jurisdictions_committed_per_policy(anonymous).items():
        found[("home", pid)] = n
    for policy in world["policies"]:
        adoption = policy_adoption(policy, anonymous)
        for group in adoption.groups:
            names = tuple((j.key, tuple(o.name for o in officials)) for j, officials in group.named)
            found[("policy-page", policy.id, group.stage)] = names
        found[("policy-not-named", policy.id)] = adoption.not_named
    for row in directory(world["organizer"], state=None, search="").rows:
        found[("directory", row.official_id)] = (row.name, row.commitments)
    return found


def _in_filter(row: Row, flt: AdoptionFilter, world) -> bool:
    policy = world["policies"][row.policy]
    if flt.policy and policy.slug != flt.policy:
        return False
    if flt.priority and policy.priority.slug != flt.priority:
        return False
    if flt.state and row.state != flt.state:
        return False
    floor = STAGE_THRESHOLDS[flt.stage][1]
    return floor is None or (row.stage in MAIN_LINE and row.stage.rank >= floor.rank)


def _cell(key: tuple, world):
    """The commitments a figure covers, as a predicate; None for the nation as a whole."""
    kind = key[0]
    if kind == "totals" and key[1] == AdoptionFilter():
        return None  # the nation: its totals include the unnamed by design
    if kind == "other-states":
        return None  # the nation minus the states shown: 0 or a large group by design
    if kind in ("home", "policy-not-named"):
        pid = key[1]
        return lambda r: world["policies"][r.policy].id == pid
    if kind == "policy-page":
        pid = key[1]
        return lambda r: world["policies"][r.policy].id == pid
    if kind == "directory":
        return lambda r: False  # an official's row: no new official may appear or change
    flt = key[1]
    in_filter = lambda r: _in_filter(r, flt, world)  # noqa: E731
    if kind in ("map-state", "state-row"):
        state = key[2] if kind == "state-row" else _state_of_fips(key[2])
        return lambda r: in_filter(r) and r.state == state
    if kind == "policy-row":
        return lambda r: in_filter(r) and world["policies"][r.policy].id == key[2]
    if kind == "stage":
        return lambda r: in_filter(r) and r.stage == key[2]
    if kind == "month":
        return lambda r: in_filter(r) and MONTHS[r.month].strftime("%Y-%m") == key[2]
    if kind == "map-point":
        return lambda r: in_filter(r) and world["places"][r.place].key == key[2]
    if kind == "map-county":
        return lambda r: in_filter(r) and world["places"][r.place].county_key == key[2]
    return in_filter  # totals under a filter, recent changes under a filter


def _state_of_fips(fips: str) -> str:
    return next(state for state, code in STATE_FIPS.items() if code == fips)


def _unnamed_places(campaign: list[Row], cell) -> int:
    return len({r.place for r in campaign if r.unnamed and cell(r)})


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # CI runs the same examples every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(campaign=campaigns, added=additions)
def test_one_more_unnamed_commitment_changes_only_figures_of_large_cells(world, campaign, added):
    try:
        for n, row in enumerate(campaign):
            _make(world, row, n)
        db.session.commit()
        before = _figures(world)
        _make(world, added, len(campaign))
        db.session.commit()
        after = _figures(world)
    finally:
        db.session.rollback()
        db.session.execute(delete(TimelineEntry))
        db.session.execute(delete(Commitment))
        db.session.execute(delete(User).where(User.role == Role.OFFICIAL))
        db.session.commit()
    grown = [*campaign, added]
    for key in before.keys() | after.keys():
        if before.get(key) == after.get(key):
            continue
        cell = _cell(key, world)
        if cell is None:
            continue
        assert cell(added), f"{key} changed, yet the new commitment is not in its cell"
        held_before, held_after = _unnamed_places(campaign, cell), _unnamed_places(grown, cell)
        assert held_before >= K and held_after >= K, (
            f"{key}: {before.get(key)} -> {after.get(key)} with only "
            f"{held_before} -> {held_after} jurisdictions holding unnamed commitments"
        )


def _named(row: Row) -> bool:
    return row.visibility == Visibility.PUBLIC and row.verified and row.stage != Stage.WITHDRAWN


def _expected_release(world, campaign: list[Row]) -> dict:
    """The released blocks by this test's own reading of disclosure.py's rules (each row
    has an official of its own)."""
    enough = K + 1
    unnamed = [r for r in campaign if r.unnamed]
    released = {}
    for state in STATES:
        here = [r for r in unnamed if r.state == state]
        if len({r.place for r in here}) >= enough:
            released[state] = len(here)
    held = [r for r in unnamed if r.state not in released]
    nation = sum(released.values()) + (len(held) if len({r.place for r in held}) >= enough else 0)
    named_places = {r.place for r in campaign if _named(r)}
    only_places = {r.place for r in unnamed} - named_places
    per_policy = {}
    for index, policy in enumerate(world["policies"]):
        named_here = {r.place for r in campaign if _named(r) and r.policy == index}
        places = {r.place for r in unnamed if r.policy == index} - named_here
        if len(places) >= enough:
            per_policy[policy.id] = len(places)
    their_places = {r.place for r in unnamed}
    return {
        "states": released,
        "nation": nation,
        "places": len(only_places) if len(only_places) >= enough else 0,
        "officials": len(unnamed) if len(their_places) >= enough else 0,
        "policies": per_policy,
    }


@settings(
    max_examples=120,  # a few seconds: the release alone is computed
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(campaign=campaigns)
def test_the_released_blocks_are_what_the_rules_say(world, campaign):
    from campaign.commitments.disclosure import release

    try:
        for n, row in enumerate(campaign):
            _make(world, row, n)
        db.session.commit()
        cache.clear()
        found = release()
    finally:
        db.session.rollback()
        db.session.execute(delete(TimelineEntry))
        db.session.execute(delete(Commitment))
        db.session.execute(delete(User).where(User.role == Role.OFFICIAL))
        db.session.commit()
    assert {
        "states": found.state_commitments,
        "nation": found.nation_commitments,
        "places": found.nation_jurisdictions,
        "officials": found.nation_officials,
        "policies": found.policy_jurisdictions,
    } == _expected_release(world, campaign)
