"""What officials and staff do to commitments. Functions add and flush; callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from campaign.accounts.models import User
from campaign.accounts.roles import can_view_commitment
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import Stage, check_transition
from campaign.commitments.visibility import counted_active, named_condition
from campaign.extensions import db
from campaign.places.models import Jurisdiction


class CommitmentError(ValueError):
    """A request the commitment rules refuse; the message is for the person who made it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Pledge:
    policy: Policy
    visibility: Visibility
    target_date: date | None
    note: str | None


def make_commitments(official: User, pledges: list[Pledge], pledged_on: date) -> list[Commitment]:
    """Record an official's pledges, each with its first timeline entry."""
    if official.jurisdiction_id is None:
        raise CommitmentError("Tell us which jurisdiction you serve before committing.")
    if not pledges:
        raise CommitmentError("Choose at least one policy to commit to.")
    existing = set(
        db.session.scalars(
            select(Commitment.policy_id).where(Commitment.official_id == official.id)
        )
    )
    created = []
    for pledge in pledges:
        if pledge.policy.id in existing:
            raise CommitmentError(
                f"You have already committed to “{pledge.policy.short_title}”.",
                field=f"commit_{pledge.policy.id}",
            )
        commitment = Commitment(
            official=official,
            policy=pledge.policy,
            jurisdiction_id=official.jurisdiction_id,
            visibility=pledge.visibility,
            stage=Stage.PLEDGED,
            furthest_stage=Stage.PLEDGED,
            pledged_on=pledged_on,
            stage_changed_on=pledged_on,
            target_date=pledge.target_date,
            note=pledge.note or None,
        )
        db.session.add(commitment)
        commitment.timeline.add(
            TimelineEntry(
                stage=Stage.PLEDGED,
                occurred_on=pledged_on,
                note=pledge.note or None,
                recorded_by=official,
            )
        )
        created.append(commitment)
    db.session.flush()
    return created


def record_progress(
    commitment: Commitment,
    *,
    stage: Stage,
    occurred_on: date,
    recorded_by: User,
    evidence_url: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
) -> TimelineEntry:
    """Move a commitment to a new stage and add the dated entry that says so."""
    if expected_version is not None and expected_version != commitment.version:
        raise CommitmentError(
            "This commitment changed since you opened the page. "
            "Review its timeline below and submit again.",
        )
    try:
        check_transition(commitment.stage, commitment.furthest_stage, stage)
    except ValueError as error:
        raise CommitmentError(str(error), field="stage") from error
    # Work often starts before the pledge is entered here, so only later steps must be in order.
    if commitment.stage != Stage.PLEDGED and occurred_on < commitment.stage_changed_on:
        raise CommitmentError(
            f"The date cannot be before the last update "
            f"({commitment.stage_changed_on:%B} {commitment.stage_changed_on.day}, "
            f"{commitment.stage_changed_on.year}).",
            field="occurred_on",
        )
    entry = TimelineEntry(
        stage=stage,
        occurred_on=occurred_on,
        evidence_url=evidence_url or None,
        note=note or None,
        recorded_by=recorded_by,
    )
    commitment.timeline.add(entry)
    commitment.stage = stage
    if stage.rank > commitment.furthest_stage.rank:
        commitment.furthest_stage = stage
    commitment.stage_changed_on = occurred_on
    db.session.flush()
    return entry


def change_visibility(commitment: Commitment, visibility: Visibility) -> None:
    commitment.visibility = visibility
    db.session.flush()


def get_commitment_or_404(commitment_id: int, user) -> Commitment:
    """The commitment if this user may see it; 404 otherwise, so ids reveal nothing."""
    commitment = db.session.get(
        Commitment,
        commitment_id,
        options=[joinedload(Commitment.policy), joinedload(Commitment.jurisdiction)],
    )
    if commitment is None or not can_view_commitment(user, commitment):
        abort(404)
    return commitment


def commitments_of(official: User) -> list[Commitment]:
    stmt = (
        select(Commitment)
        .where(Commitment.official_id == official.id)
        .options(joinedload(Commitment.policy), joinedload(Commitment.jurisdiction))
        .join(Commitment.policy)
        .order_by(Policy.priority_id, Policy.position)
    )
    return list(db.session.scalars(stmt))


def timeline_of(commitment: Commitment) -> list[TimelineEntry]:
    stmt = (
        commitment.timeline.select()
        .options(joinedload(TimelineEntry.recorded_by))
        .order_by(TimelineEntry.occurred_on, TimelineEntry.id)
    )
    return list(db.session.scalars(stmt))


def jurisdictions_committed_per_policy(viewer) -> dict[int, int]:
    """Distinct jurisdictions with a live, countable commitment to each policy."""
    stmt = (
        select(Commitment.policy_id, func.count(func.distinct(Commitment.jurisdiction_id)))
        .where(counted_active(viewer))
        .group_by(Commitment.policy_id)
    )
    return {policy_id: count for policy_id, count in db.session.execute(stmt)}


@dataclass
class StageGroup:
    stage: Stage
    named: list[tuple[Jurisdiction, list[User]]]
    unnamed_count: int

    @property
    def total(self) -> int:
        return len(self.named) + self.unnamed_count


def policy_adoption(policy: Policy, viewer) -> list[StageGroup]:
    """A policy's jurisdictions grouped by their furthest current stage.

    A jurisdiction is named when at least one of its commitments may be named to the viewer;
    the others only add to the count, so a hidden official's town never appears.
    """
    named_expr = named_condition(viewer)
    stmt = (
        select(Commitment, named_expr.label("named"))
        .where(Commitment.policy_id == policy.id, counted_active(viewer))
        .options(joinedload(Commitment.jurisdiction), joinedload(Commitment.official))
    )
    best: dict[int, Stage] = {}
    named_officials: dict[int, list[User]] = {}
    jurisdictions: dict[int, Jurisdiction] = {}
    unnamed_jurisdictions: set[int] = set()
    for commitment, named in db.session.execute(stmt):
        jid = commitment.jurisdiction_id
        jurisdictions[jid] = commitment.jurisdiction
        current = best.get(jid)
        if current is None or _stage_order(commitment.stage) > _stage_order(current):
            best[jid] = commitment.stage
        if named:
            named_officials.setdefault(jid, []).append(commitment.official)
        else:
            unnamed_jurisdictions.add(jid)
    groups = {stage: StageGroup(stage, [], 0) for stage in Stage if stage != Stage.WITHDRAWN}
    for jid, stage in best.items():
        if jid in named_officials:
            groups[stage].named.append((jurisdictions[jid], named_officials[jid]))
        else:
            groups[stage].unnamed_count += 1
    for group in groups.values():
        group.named.sort(key=lambda pair: (pair[0].state, pair[0].name))
    order = [Stage.IMPLEMENTED, Stage.PASSED, Stage.INTRODUCED, Stage.PLEDGED, Stage.STALLED]
    return [groups[s] for s in order]


def _stage_order(stage: Stage) -> int:
    return stage.rank if stage.on_main_line else -1
