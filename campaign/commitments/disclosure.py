"""Where commitments that are counted but not named may enter a published figure.

Statistical disclosure control, decided here for every figure anyone but staff sees (the
map, the dashboard and its exports, the home and policy pages). Named commitments are
shown everywhere. An unnamed one ("counted, not named", by a verified official, not
withdrawn) enters a figure only as part of a *block* many jurisdictions contribute to,
and only in three kinds of figure:

- the nation, unfiltered: commitments, jurisdictions and officials;
- one state, unfiltered otherwise (the state's figure on the map, the dashboard's table of
  states, `?state=XX` on its own): its commitments;
- one policy, nationally: the jurisdictions with no named commitment to it ("N more not
  named" on the home and policy pages and the dashboard's table of policies).

A block is released when at least K + 1 distinct jurisdictions contribute to it
(K = DISCLOSURE_MIN_JURISDICTIONS, at least 3). With any one commitment set aside it still
holds K, so adding, moving or withdrawing one commitment changes a figure below the nation
only if its block holds at least K jurisdictions before and after. Any other filter
(a policy in a state, a stage, a priority, a county, a month) shows named commitments
only, and nothing anywhere says how many unnamed ones it holds.

Complementary suppression: a national total is never the exact sum of its shown parts
plus one small hidden part. The states whose blocks are held back are added to the
nation only as one "other states" remainder, and only when that remainder itself has at
least K + 1 jurisdictions; so a total minus the shown states is 0 or a large group.
Stages, policies and months show named commitments only, beside one "not named" row
equal to the national remainder, so no subtraction isolates a small cell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from flask import current_app
from sqlalchemy import and_, case, func, select

from campaign.commitments.filters import AdoptionFilter
from campaign.commitments.models import Commitment, Visibility
from campaign.commitments.visibility import (
    PUBLIC_SCOPE,
    active_condition,
    by_verified_official,
    scope_named,
)
from campaign.extensions import db
from campaign.places.models import Jurisdiction


class Level(Enum):
    """Which unnamed block, if any, a filter's figures may include."""

    NATION = "nation"
    STATE = "state"
    NONE = "none"


def level_of(flt: AdoptionFilter) -> Level:
    """The nation unfiltered, one state on its own, or anything finer (named only)."""
    restricts_policies = bool(flt.policy or flt.priority or flt.hostile_only)
    restricts_stages = flt.stage != "committed"
    if restricts_policies or restricts_stages:
        return Level.NONE
    return Level.STATE if flt.state else Level.NATION


def min_jurisdictions() -> int:
    """K: checked at start-up (config.check_disclosure_threshold)."""
    return current_app.config["DISCLOSURE_MIN_JURISDICTIONS"]


def unnamed_condition():
    """Counted but not named, by a verified official, and live: what this module guards."""
    return and_(
        Commitment.visibility == Visibility.COUNTED, by_verified_official(), active_condition()
    )


def named_live_condition():
    return and_(scope_named(PUBLIC_SCOPE), active_condition())


@dataclass(frozen=True)
class Release:
    """The unnamed blocks that may be published, for the public scope, campaign-wide."""

    state_commitments: dict[str, int] = field(default_factory=dict)
    """Per state: unnamed commitments, for the states whose block is released."""
    nation_commitments: int = 0
    """Released state blocks plus the remainder of the others when it is large enough."""
    nation_jurisdictions: int = 0
    """Jurisdictions with an unnamed commitment and no named one, when enough of them."""
    nation_officials: int = 0
    """Officials with unnamed commitments only, when they serve enough jurisdictions."""
    policy_jurisdictions: dict[int, int] = field(default_factory=dict)
    """Per policy: jurisdictions with an unnamed commitment to it and no named one."""

    @property
    def other_states_commitments(self) -> int:
        """The national remainder not shown under any state (0, or a large group)."""
        return self.nation_commitments - sum(self.state_commitments.values())

    def commitments_for(self, flt: AdoptionFilter) -> int:
        """The unnamed commitments a figure for this filter includes."""
        level = level_of(flt)
        if level is Level.NATION:
            return self.nation_commitments
        if level is Level.STATE:
            return self.state_commitments.get(flt.state or "", 0)
        return 0


def release() -> Release:
    """The campaign's released blocks, computed once per data revision."""
    from campaign.figures.cache import cached

    return cached(("disclosure-release", min_jurisdictions()), _compute_release)


def _covering(stmt):
    """Read the commitments through the covering index `ix_commitment_figures` on SQLite,
    as the figures' scans do: planned alone, the state blocks walked every jurisdiction
    and fetched its commitments from the table (170 ms at national size, against 35)."""
    return stmt.with_hint(Commitment, "INDEXED BY ix_commitment_figures", "sqlite")


def _compute_release() -> Release:
    enough = min_jurisdictions() + 1
    unnamed = unnamed_condition()
    named = named_live_condition()

    state_blocks = db.session.execute(
        _covering(
            select(
                Jurisdiction.state,
                func.count(Commitment.id),
                func.count(func.distinct(Commitment.jurisdiction_id)),
            )
            .select_from(Commitment)
            .join(Jurisdiction, Jurisdiction.id == Commitment.jurisdiction_id)
            .where(unnamed)
            .group_by(Jurisdiction.state)
        )
    ).all()
    released = {state: n for state, n, places in state_blocks if places >= enough}
    held_commitments = sum(n for state, n, _p in state_blocks if state not in released)
    held_places = sum(places for state, _n, places in state_blocks if state not in released)
    # Jurisdictions do not span states, so the held states' places add up exactly.
    nation = sum(released.values()) + (held_commitments if held_places >= enough else 0)

    named_places = _covering(select(Commitment.jurisdiction_id).where(named))
    only_places = db.session.scalar(
        _covering(
            select(func.count(func.distinct(Commitment.jurisdiction_id))).where(
                unnamed, Commitment.jurisdiction_id.not_in(named_places)
            )
        )
    )
    named_officials = _covering(select(Commitment.official_id).where(named))
    only_officials, their_places = db.session.execute(
        _covering(
            select(
                func.count(func.distinct(Commitment.official_id)),
                func.count(func.distinct(Commitment.jurisdiction_id)),
            ).where(unnamed, Commitment.official_id.not_in(named_officials))
        )
    ).one()

    # Per policy, the places with an unnamed commitment to it and no named one: the live
    # commitments of verified officials that are named or unnamed, grouped by (policy,
    # place), keeping the groups with no named one. One scan of the covering index; an
    # anti-join against the named pairs took twice as long, and a row-value NOT IN over
    # them took SQLite 40 s at national size.
    has_named = func.max(case((Commitment.visibility == Visibility.PUBLIC, 1), else_=0))
    pairs = (
        _covering(
            select(Commitment.policy_id.label("policy_id"))
            .where(
                Commitment.visibility.in_((Visibility.PUBLIC, Visibility.COUNTED)),
                by_verified_official(),
                active_condition(),
            )
            .group_by(Commitment.policy_id, Commitment.jurisdiction_id)
            .having(has_named == 0)
        )
    ).subquery("unnamed_pairs")
    per_policy = db.session.execute(
        select(pairs.c.policy_id, func.count()).group_by(pairs.c.policy_id)
    ).all()
    return Release(
        state_commitments=released,
        nation_commitments=nation,
        nation_jurisdictions=only_places if (only_places or 0) >= enough else 0,
        nation_officials=only_officials if (their_places or 0) >= enough else 0,
        policy_jurisdictions={pid: n for pid, n in per_policy if n >= enough},
    )
