"""What officials and staff do to commitments. Functions add and flush; callers commit."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from flask import abort
from sqlalchemy import func, select, true
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from campaign.accounts.models import User
from campaign.accounts.roles import (
    can_make_more_visible,
    can_see_private_commitments,
    can_view_commitment,
    owns_commitment,
)
from campaign.audit.operations import record, record_many
from campaign.catalog.models import Policy
from campaign.commitments.disclosure import release
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import LIVE_STAGES, Stage, check_transition
from campaign.commitments.visibility import (
    PUBLIC_SCOPE,
    active_condition,
    aggregate_scope,
    scope_named,
)
from campaign.extensions import db
from campaign.places.models import Jurisdiction
from campaign.validation import DateWindow

# A target date is today or later, within ten years: on the official's form and in imports.
TARGET_DATES = DateWindow(past_days=0, future_days=3650)
# When something happened (a pledge, a stage reached): not in the future, with a day's grace
# for an official a time zone ahead of the server, and not before EARLIEST_DATE. The same on
# the official's form, staff's forms, the mailbox triage and spreadsheet imports.
EVENT_DATES = DateWindow(future_days=1)


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
    date_estimated: bool = False  # that date is a guess (an undated import row)


@dataclass(frozen=True)
class Source:
    """Where an entry recorded on someone's behalf came from (an import, a helpdesk email)."""

    import_batch_id: int | None = None
    mail_message_id: int | None = None

    @property
    def words(self) -> str:
        """How the audit trail says where it came from."""
        if self.import_batch_id is not None:
            return "imported"
        if self.mail_message_id is not None:
            return "from an email"
        return "recorded by staff"


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
    official themself; the timeline and the audit trail say so. An official acting alone
    must have confirmed their email (accounts/confirmation.py).
    """
    if recorded_by is None and official.awaiting_email_confirmation:
        raise CommitmentError("Confirm your email address before committing: open our link.")
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
            date_estimated=pledge.date_estimated,
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
    date_estimated: bool = False,
) -> TimelineEntry:
    """Check a stage move against the rules and apply it, unflushed; `CommitmentError` if not.

    The one place the stage and date rules are applied, for the progress form, staff
    recording a phone call, and imports alike.
    """
    check_progress(commitment, stage, occurred_on)
    entry = TimelineEntry(
        stage=stage,
        occurred_on=occurred_on,
        date_estimated=date_estimated,
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


def check_progress(commitment: Commitment, stage: Stage, occurred_on: date) -> None:
    """The stage and date rules of a move, checked without changing anything.

    `CommitmentError` names the field at fault. Planners (the spreadsheet dry run) call it
    to say what a row would do; `advance` calls it before every move.
    """
    try:
        check_transition(commitment.stage, commitment.furthest_stage, stage)
    except ValueError as error:
        raise CommitmentError(str(error), field="stage") from error
    check_event_date(occurred_on)
    # Work often starts before the pledge is entered here, so only later steps must be in order.
    if commitment.stage != Stage.PLEDGED and occurred_on < commitment.stage_changed_on:
        raise CommitmentError(
            f"The date cannot be before the last update "
            f"({commitment.stage_changed_on:%B} {commitment.stage_changed_on.day}, "
            f"{commitment.stage_changed_on.year}).",
            field="occurred_on",
        )


def check_event_date(occurred_on: date, what: str = "date") -> None:
    """The official's form's rule for when something happened, for everyone who records it."""
    problem = EVENT_DATES.problem(occurred_on)
    if problem:
        raise CommitmentError(
            f"The {what} {occurred_on.isoformat()} cannot be used: "
            f"{problem[:1].lower()}{problem[1:]}",
            field="occurred_on",
        )


def check_target_date(target_date: date | None) -> None:
    """The official's form's rule for a target date, for everyone who records one."""
    problem = TARGET_DATES.problem(target_date) if target_date else None
    if problem:
        raise CommitmentError(
            f"The target date {target_date.isoformat()} cannot be used: "
            f"{problem[:1].lower()}{problem[1:]}",
            field="target_date",
        )


# --- Recording on an official's behalf -------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    """What an official told staff (by phone, in an email, in a helpdesk spreadsheet)."""

    stage: Stage
    on: date  # the date of that stage
    visibility: Visibility = Visibility.COUNTED
    pledged_on: date | None = None  # when it was pledged, if earlier than `on` (sheets know)
    target_date: date | None = None
    evidence_url: str | None = None
    note: str | None = None
    date_estimated: bool = False  # staff gave an undated report a date of their own


class Step(enum.StrEnum):
    """What recording a report does to the official's commitment to that policy."""

    CREATE = "create"
    ADVANCE = "advance"
    ALREADY = "already"  # recorded at that stage already
    LATER = "later"  # the app has a later update than this report


@dataclass(frozen=True)
class Decision:
    step: Step
    reason: str

    @property
    def writes(self) -> bool:
        return self.step in (Step.CREATE, Step.ADVANCE)


def decide_on_behalf(commitment: Commitment | None, reported: Reported) -> Decision:
    """What recording `reported` does, given the commitment the app has (or None).

    The one rule for the spreadsheet dry run, the import itself and mail triage: news the
    app already has, or older than what it has, changes nothing and is said so.
    """
    stage, on = reported.stage, reported.on
    check_event_date(on)  # CommitmentError: the report itself is wrong, whatever the app has
    if reported.pledged_on is not None:
        check_event_date(reported.pledged_on, "pledge date")
    if commitment is None:
        then = "" if stage == Stage.PLEDGED else f", then {stage.label.lower()}"
        pledged_on = (reported.pledged_on or on).isoformat()
        return Decision(Step.CREATE, f"New commitment: pledged {pledged_on}{then}.")
    if commitment.stage == stage:
        return Decision(Step.ALREADY, f"Already recorded as {stage.label.lower()}.")
    try:
        check_progress(commitment, stage, on)
    except CommitmentError:
        return Decision(
            Step.LATER,
            f"The app already has a later update: {commitment.stage.label.lower()} on "
            f"{commitment.stage_changed_on.isoformat()}.",
        )
    return Decision(
        Step.ADVANCE,
        f"{commitment.stage.label} → {stage.label.lower()} on {on.isoformat()}.",
    )


@dataclass
class Recorded:
    decision: Decision
    commitment: Commitment | None


_LOOK_IT_UP = object()


def record_on_behalf(
    official: User,
    policy: Policy,
    reported: Reported,
    *,
    recorded_by: User | None,
    source: Source,
    existing: Commitment | object | None = _LOOK_IT_UP,
    audits: list | None = None,
) -> Recorded:
    """Record what an official reported through staff: a new commitment, or a step forward.

    The one recipe for imports, mail triage and staff entries: the target date is checked as
    on the official's form, the note goes with the entry of the reported stage, and the stage
    moves by `decide_on_behalf`. `official` comes from `accounts.operations.official_for`
    (found or created, jurisdiction checked). Nothing is flushed when `audits` is given: the
    audit entries are appended to it for the caller to write after one flush of many rows
    (`audit.operations.record_many`); otherwise this flushes and audits now.
    """
    if official.jurisdiction is None:
        raise CommitmentError(
            f"{official.name} has no jurisdiction in the app yet: add it to their account first."
        )
    if existing is _LOOK_IT_UP:
        existing = db.session.scalar(
            select(Commitment).where(
                Commitment.official_id == official.id, Commitment.policy_id == policy.id
            )
        )
    decision = decide_on_behalf(existing, reported)
    if not decision.writes:
        return Recorded(decision, existing)
    pending: list[tuple[str, object, str, dict]] = []
    commitment = existing
    if commitment is None:
        check_target_date(reported.target_date)
        pledged_on = reported.pledged_on or reported.on
        pledge = Pledge(
            policy,
            reported.visibility,
            reported.target_date,
            reported.note if reported.stage == Stage.PLEDGED else None,
            pledged_on,
            reported.date_estimated,
        )
        commitment = new_commitment(
            official, pledge, pledged_on, recorded_by=recorded_by, source=source
        )
        summary, changes = creation_audit(pledge)
        pending.append(("commitment.created", commitment, f"{summary}, {source.words}", changes))
    if reported.stage != Stage.PLEDGED or existing is not None:
        before = commitment.stage
        advance(
            commitment,
            stage=reported.stage,
            occurred_on=reported.on,
            recorded_by=recorded_by,
            evidence_url=reported.evidence_url,
            note=reported.note,
            source=source,
            date_estimated=reported.date_estimated,
        )
        pending.append(
            (
                "commitment.stage_changed",
                commitment,
                *progress_audit(policy.short_title, before, reported.stage, reported.on),
            )
        )
    if audits is not None:
        audits.extend(pending)
    else:
        db.session.flush()
        record_many(recorded_by, pending)
        db.session.flush()
    return Recorded(decision, commitment)


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
    """Distinct jurisdictions with a live commitment to each policy, as the viewer may count.

    Staff count every commitment; anyone else the named ones plus, per policy, the
    released count of jurisdictions with only unnamed commitments to it (disclosure.py).
    """
    from campaign.figures.cache import cached

    # Cached like the map's figures (one scan of the commitments): the home page is where
    # everyone lands, signing in and out.
    staff = can_see_private_commitments(viewer)
    return cached(("committed-per-policy", staff), lambda: _committed_per_policy(staff=staff))


def _committed_per_policy(*, staff: bool) -> dict[int, int]:
    visible = true() if staff else scope_named(PUBLIC_SCOPE)
    stmt = (
        select(Commitment.policy_id, func.count(func.distinct(Commitment.jurisdiction_id)))
        .where(visible, active_condition())
        .group_by(Commitment.policy_id)
    )
    counts = {policy_id: count for policy_id, count in db.session.execute(stmt)}
    if not staff:
        for policy_id, n in release().policy_jurisdictions.items():
            counts[policy_id] = counts.get(policy_id, 0) + n
    return counts


@dataclass
class StageGroup:
    stage: Stage
    named: list[tuple[Jurisdiction, list[User]]]

    @property
    def total(self) -> int:
        return len(self.named)


@dataclass
class PolicyAdoptionList:
    """A policy page's jurisdictions: named ones by stage, and how many more are not named
    (only ever a national count, and only when large enough: disclosure.py)."""

    groups: list[StageGroup]
    not_named: int


def policy_adoption(policy: Policy, viewer) -> PolicyAdoptionList:
    """A policy's jurisdictions grouped by the furthest stage of their named commitments.

    Named jurisdictions take their stage from named commitments only, and unnamed ones have
    no stage at all: a hidden official's progress would otherwise show against a named
    town, or a stage count of one would point at them.
    """
    named_rows = db.session.execute(
        select(Commitment)
        .where(
            Commitment.policy_id == policy.id,
            active_condition(),
            scope_named(aggregate_scope(viewer)),  # a public page, even for the official
        )
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
    groups = {stage: StageGroup(stage, []) for stage in LIVE_STAGES}
    for jid, stage in best.items():
        groups[stage].named.append((jurisdictions[jid], officials[jid]))
    for group in groups.values():
        group.named.sort(key=lambda pair: (pair[0].state, pair[0].name))
    order = [Stage.IMPLEMENTED, Stage.PASSED, Stage.INTRODUCED, Stage.PLEDGED, Stage.STALLED]
    not_named = 0
    if not can_see_private_commitments(viewer):
        not_named = release().policy_jurisdictions.get(policy.id, 0)
    return PolicyAdoptionList([groups[s] for s in order], not_named)


def _stage_order(stage: Stage) -> int:
    return stage.rank if stage.on_main_line else -1
