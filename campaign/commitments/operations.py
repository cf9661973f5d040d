"""What officials and staff do to commitments. Functions add and flush; callers commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from campaign.accounts.models import User
from campaign.accounts.roles import (
    can_make_more_visible,
    can_view_commitment,
    owns_commitment,
)
from campaign.audit.operations import record
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
    pledged_on: date | None = None  # history brought in by an import has its own dates


@dataclass(frozen=True)
class Source:
    """Where an entry recorded on someone's behalf came from (an import, a helpdesk email)."""

    import_batch_id: int | None = None
    mail_message_id: int | None = None


def make_commitments(
    official: User,
    pledges: list[Pledge],
    pledged_on: date,
    *,
    recorded_by: User | None = None,
    source: Source = Source(),
) -> list[Commitment]:
    """Record an official's pledges, each with its first timeline entry.

    `recorded_by` is the staff member entering them for the official, when it is not the
    official themself; the timeline and the audit trail say so.
    """
    recorded_by = recorded_by or official
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
        commitment = new_commitment(
            official, pledge, pledged_on, recorded_by=recorded_by, source=source
        )
        created.append(commitment)
        record(recorded_by, "commitment.created", commitment, *creation_audit(pledge))
    db.session.flush()
    return created


def new_commitment(
    official: User,
    pledge: Pledge,
    pledged_on: date,
    *,
    recorded_by: User | None,
    source: Source = Source(),
) -> Commitment:
    """A pledged commitment with its first timeline entry, added to the session unflushed.

    Callers check the rules (one commitment per official and policy); bulk imports call this
    directly so ten thousand rows cost a few flushes rather than one each.
    """
    on = pledge.pledged_on or pledged_on
    place = (
        {"jurisdiction_id": official.jurisdiction_id}
        if official.jurisdiction_id is not None
        else {"jurisdiction": official.jurisdiction}  # an account created in the same flush
    )
    commitment = Commitment(
        official=official,
        policy=pledge.policy,
        visibility=pledge.visibility,
        stage=Stage.PLEDGED,
        furthest_stage=Stage.PLEDGED,
        pledged_on=on,
        stage_changed_on=on,
        target_date=pledge.target_date,
        note=pledge.note or None,
        **place,
    )
    db.session.add(commitment)
    commitment.timeline.add(
        TimelineEntry(
            stage=Stage.PLEDGED,
            occurred_on=on,
            note=pledge.note or None,
            recorded_by=recorded_by,
            import_batch_id=source.import_batch_id,
            mail_message_id=source.mail_message_id,
        )
    )
    return commitment


def creation_audit(pledge: Pledge) -> tuple[str, dict[str, list]]:
    """The audit summary and changes of a new commitment."""
    return (
        f"Committed to {pledge.policy.short_title} ({pledge.visibility.label.lower()})",
        {"stage": [None, Stage.PLEDGED.value], "visibility": [None, pledge.visibility.value]},
    )


def record_progress(
    commitment: Commitment,
    *,
    stage: Stage,
    occurred_on: date,
    recorded_by: User,
    evidence_url: str | None = None,
    note: str | None = None,
    expected_version: int | None = None,
    source: Source = Source(),
) -> TimelineEntry:
    """Move a commitment to a new stage and add the dated entry that says so."""
    if expected_version is not None and expected_version != commitment.version:
        raise CommitmentError(
            "This commitment changed since you opened the page: "
            f"{_latest_change(commitment)}. Nothing was saved; check the timeline below "
            "and submit again if your update still applies.",
        )
    with db.session.no_autoflush:  # the version check below must see our one flush
        policy_title = commitment.policy.short_title  # loaded before any change is pending
        before = commitment.stage
        entry = advance(
            commitment,
            stage=stage,
            occurred_on=occurred_on,
            recorded_by=recorded_by,
            evidence_url=evidence_url,
            note=note,
            source=source,
        )
        record(
            recorded_by,
            "commitment.stage_changed",
            commitment,
            *progress_audit(policy_title, before, stage, occurred_on),
        )
    try:
        db.session.flush()
    except StaleDataError as error:
        # Another save won the race between our version check and our write.
        raise CommitmentError(
            "Someone else saved this commitment at the same moment. Nothing was saved; "
            "reload the page to see their change and submit again if yours still applies."
        ) from error
    return entry


def advance(
    commitment: Commitment,
    *,
    stage: Stage,
    occurred_on: date,
    recorded_by: User | None,
    evidence_url: str | None = None,
    note: str | None = None,
    source: Source = Source(),
) -> TimelineEntry:
    """Check a stage move against the rules and apply it, unflushed; `CommitmentError` if not.

    The one place the stage and date rules are applied, for the progress form, staff
    recording a phone call, and imports alike.
    """
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
        import_batch_id=source.import_batch_id,
        mail_message_id=source.mail_message_id,
    )
    commitment.timeline.add(entry)
    commitment.stage = stage
    if stage.rank > commitment.furthest_stage.rank:
        commitment.furthest_stage = stage
    commitment.stage_changed_on = occurred_on
    return entry


def progress_audit(
    policy_title: str, before: Stage, stage: Stage, occurred_on: date
) -> tuple[str, dict[str, list]]:
    return (
        f"{policy_title}: {before.label.lower()} → {stage.label.lower()} "
        f"on {occurred_on.isoformat()}",
        {"stage": [before.value, stage.value]},
    )


def _latest_change(commitment: Commitment) -> str:
    """The newest timeline entry in words, for a refused stale save."""
    latest = db.session.scalar(
        commitment.timeline.select()
        .options(joinedload(TimelineEntry.recorded_by))
        .order_by(None)  # drop the relationship's oldest-first order
        .order_by(TimelineEntry.recorded_at.desc(), TimelineEntry.id.desc())
        .limit(1)
    )
    if latest is None:
        return f"it is now {commitment.stage.label.lower()}"
    who = latest.recorded_by.name if latest.recorded_by else "someone"
    return (
        f"{who} recorded it as {latest.stage.label.lower()} on "
        f"{latest.occurred_on:%B} {latest.occurred_on.day}, {latest.occurred_on.year}"
    )


NOT_MORE_VISIBLE = (
    "Only the official can make a commitment more visible. "
    "Staff may only make it less public, at the official's request."
)
REASON_NEEDED = (
    "Say why you are changing it for the official (for example “asked by phone on 3 May”)."
)


def change_visibility(
    commitment: Commitment, visibility: Visibility, actor: User, *, reason: str | None = None
) -> None:
    """Change who may see a commitment.

    The official may change it either way. Anyone else (staff) acts on the official's
    request: only towards less public, and with the reason they give, kept in the audit.
    """
    if commitment.visibility == visibility:
        return
    before = commitment.visibility
    on_behalf = not owns_commitment(actor, commitment)
    if visibility.openness > before.openness and not can_make_more_visible(actor, commitment):
        raise CommitmentError(NOT_MORE_VISIBLE, field="visibility")
    reason = (reason or "").strip() or None
    if on_behalf and reason is None:
        raise CommitmentError(REASON_NEEDED, field="reason")
    commitment.visibility = visibility
    summary = f"{commitment.policy.short_title}: visibility {before.label} → {visibility.label}"
    changes = {"visibility": [before.value, visibility.value]}
    if on_behalf:
        summary += f" (by staff, at the official's request: {reason})"
        changes["reason"] = [None, reason]
    record(actor, "commitment.visibility_changed", commitment, summary, changes)
    db.session.flush()


CommitmentCheck = Callable[[object, Commitment], bool]


def get_commitment_or_404(
    commitment_id: int, user, check: CommitmentCheck = can_view_commitment
) -> Commitment:
    """The commitment if `check` (a predicate of accounts/roles.py) lets this user act on it;
    404 otherwise, so ids reveal nothing."""
    commitment = db.session.get(
        Commitment,
        commitment_id,
        options=[joinedload(Commitment.policy), joinedload(Commitment.jurisdiction)],
    )
    if commitment is None or not check(user, commitment):
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
        .options(joinedload(TimelineEntry.recorded_by), joinedload(TimelineEntry.verified_by))
        .order_by(None)  # by date of the event, not by when it was entered
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
    """A policy's jurisdictions grouped by the furthest stage of their named commitments.

    Named jurisdictions take their stage from named commitments only; every other countable
    commitment adds to an unnamed count at its own stage. Otherwise a hidden official's
    progress would show against a named town (or the town itself would appear).
    """
    named_rows = db.session.execute(
        select(Commitment)
        .where(Commitment.policy_id == policy.id, counted_active(viewer), named_condition(viewer))
        .options(joinedload(Commitment.jurisdiction), joinedload(Commitment.official))
    ).scalars()
    best: dict[int, Stage] = {}
    officials: dict[int, list[User]] = {}
    jurisdictions: dict[int, Jurisdiction] = {}
    for commitment in named_rows:
        jid = commitment.jurisdiction_id
        jurisdictions[jid] = commitment.jurisdiction
        officials.setdefault(jid, []).append(commitment.official)
        if jid not in best or _stage_order(commitment.stage) > _stage_order(best[jid]):
            best[jid] = commitment.stage
    hidden = db.session.execute(
        select(Commitment.jurisdiction_id, Commitment.stage)
        .where(
            Commitment.policy_id == policy.id,
            counted_active(viewer),
            ~named_condition(viewer),
        )
        .distinct()
    ).all()
    hidden_best: dict[int, Stage] = {}
    for jid, stage in hidden:
        if jid not in hidden_best or _stage_order(stage) > _stage_order(hidden_best[jid]):
            hidden_best[jid] = stage
    groups = {stage: StageGroup(stage, [], 0) for stage in Stage if stage != Stage.WITHDRAWN}
    for jid, stage in best.items():
        groups[stage].named.append((jurisdictions[jid], officials[jid]))
    for stage in hidden_best.values():
        groups[stage].unnamed_count += 1
    for group in groups.values():
        group.named.sort(key=lambda pair: (pair[0].state, pair[0].name))
    order = [Stage.IMPLEMENTED, Stage.PASSED, Stage.INTRODUCED, Stage.PLEDGED, Stage.STALLED]
    return [groups[s] for s in order]


def _stage_order(stage: Stage) -> int:
    return stage.rank if stage.on_main_line else -1
