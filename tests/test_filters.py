"""The adoption filter's two readings agree: its SQL conditions, which choose the
commitments every figure counts, and `covers`, which the cache asks whether a withdrawal
could have changed a figure for the filter (figures/cache.py carries the others over)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from campaign.commitments.filters import STAGE_THRESHOLDS, AdoptionFilter
from campaign.commitments.models import Commitment, footprint
from campaign.commitments.stages import Stage
from campaign.extensions import db

LIVE = [stage for stage in Stage if stage != Stage.WITHDRAWN]


@pytest.fixture
def commitments(make, catalog):
    """One commitment per state, policy of three (✓ and not, two priorities at least) and
    stage."""
    hostile = next(p for p in catalog if p.hostile_state_friendly)
    plain = next(p for p in catalog if not p.hostile_state_friendly)
    other = next(
        p for p in catalog if p.priority_id not in (hostile.priority_id, plain.priority_id)
    )
    made = []
    for state in ("MN", "WI"):
        town = make.jurisdiction(f"Town in {state}", state)
        for policy, stage in itertools.product((hostile, plain, other), LIVE):
            made.append(make.commitment(make.user(jurisdiction=town), policy, stage=stage))
    return made, (hostile, plain, other)


def test_covers_selects_exactly_the_commitments_the_conditions_do(commitments):
    made, policies = commitments
    filters = [
        AdoptionFilter(
            state=state, policy=policy, priority=priority, stage=stage, hostile_only=hostile
        )
        for state, policy, priority, stage, hostile in itertools.product(
            (None, "MN", "WI"),
            (None, *[p.slug for p in policies]),
            (None, *{p.priority.slug for p in policies}),
            STAGE_THRESHOLDS,
            (False, True),
        )
    ]
    for flt in filters:
        selected = set(db.session.scalars(select(Commitment.id).where(*flt.conditions())))
        covered = {c.id for c in made if flt.covers(footprint(c, c.stage))}
        assert covered == selected, flt


def test_a_withdrawn_commitment_is_covered_by_no_filter(commitments):
    made, _policies = commitments
    assert not AdoptionFilter().covers(footprint(made[0], Stage.WITHDRAWN))
