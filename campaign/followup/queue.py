"""The follow-up queue: which commitments need staff attention today, most urgent first.

A commitment enters the queue for the first reason that applies, in this order:
0. its official asked for help and is waiting for an answer;
1. its official signed up alone and staff have not verified them yet (until then it counts
   nowhere and names no one: followup/verification.py);
2. its follow-up date has come;
3. a reference layer's list dated after the pledge no longer has an agreement in its
   jurisdiction (layers/targets.py): a possible win for staff to confirm and record;
4. it is a new pledge nobody has contacted yet;
5. its target date has passed before it was implemented;
6. no progress for longer than its stage allows (config FOLLOW_UP_STALE_DAYS), and no
   contact in that time either.
A follow-up date in the future snoozes it whatever the reason: staff said when to call next.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import aliased

from campaign.accounts.models import User
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment
from campaign.commitments.stages import Stage
from campaign.commitments.visibility import active_condition, open_condition
from campaign.extensions import db
from campaign.figures import revision
from campaign.figures.cache import cached, max_lag
from campaign.followup.models import FollowUp
from campaign.followup.verification import awaiting_verification
from campaign.help.models import HelpRequest, HelpStatus
from campaign.layers.targets import agreements_ended_subquery, ended_since_pledge
from campaign.places.models import Jurisdiction
from campaign.validation import record_id

PAGE_SIZE = 50
DEFAULT_STALE_DAYS = {"pledged": 30, "introduced": 45, "passed": 60, "stalled": 21}


class Reason(enum.IntEnum):
    HELP_REQUESTED = 0
    OFFICIAL_TO_VERIFY = 1
    FOLLOW_UP_DUE = 2
    AGREEMENT_ENDED = 3
    NEVER_CONTACTED = 4
    TARGET_PASSED = 5
    NO_PROGRESS = 6

    @property
    def label(self) -> str:
        return {
            0: "Official asked for help",
            1: "New official to verify",
            2: "Follow-up date reached",
            3: "Agreement no longer listed: confirm the win",
            4: "New pledge, never contacted",
            5: "Target date passed",
            6: "No progress reported",
        }[self.value]


@dataclass(frozen=True)
class QueueFilter:
    """Which part of the queue to show, from validated values only (it is a cache key)."""

    owner: str = "mine"  # "mine", "all", "unassigned" or a staff user id
    state: str | None = None
    policy: str | None = None
    stage: str | None = None

    def for_viewer(self, viewer: User) -> QueueFilter:
        """The same filter with "mine" made the viewer's id: what the queue is computed from,
        so that a figure never reads who is signed in (a background refresh may run after
        its viewer signed out)."""
        if self.owner != "mine":
            return self
        return QueueFilter(str(viewer.id), self.state, self.policy, self.stage)


@dataclass(frozen=True)
class QueueItem:
    commitment_id: int
    reason: Reason
    due_on: date
    policy_title: str
    stage: Stage
    official_id: int
    official_name: str
    jurisdiction_label: str
    owner_name: str | None


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    page: int
    pages: int
    total: int


def stale_days() -> dict[str, int]:
    return {**DEFAULT_STALE_DAYS, **current_app.config.get("FOLLOW_UP_STALE_DAYS", {})}


def waiting_for_staff():
    """Per commitment, the day its oldest help request still waiting for staff was updated.

    A small grouped subquery joined once, rather than a lookup repeated for every row.
    """
    return (
        select(
            HelpRequest.commitment_id.label("commitment_id"),
            func.date(func.min(HelpRequest.updated_at)).label("since"),
        )
        .where(HelpRequest.status == HelpStatus.WAITING_FOR_STAFF)
        .group_by(HelpRequest.commitment_id)
        .subquery("waiting")
    )


def _reason_and_due(today: date, waiting_since, ended):
    """SQL for the reason (or NULL) and the date it became due."""
    stale = stale_days()
    agreement_ended = and_(ended_since_pledge(ended), Commitment.stage != Stage.IMPLEMENTED)
    never_contacted = and_(Commitment.stage == Stage.PLEDGED, FollowUp.last_contacted_at.is_(None))
    target_passed = and_(
        Commitment.target_date.isnot(None),
        Commitment.target_date < today,
        open_condition(),
    )
    stale_conditions = []
    for stage_name, days in stale.items():
        cutoff = today - timedelta(days=days)
        contact_cutoff = datetime.combine(cutoff, datetime.min.time())
        condition = and_(
            Commitment.stage == Stage(stage_name),
            Commitment.stage_changed_on <= cutoff,
            or_(FollowUp.last_contacted_at.is_(None), FollowUp.last_contacted_at < contact_cutoff),
        )
        stale_conditions.append(condition)
    due_follow_up = and_(FollowUp.follow_up_on.isnot(None), FollowUp.follow_up_on <= today)
    to_verify = Commitment.official_id.in_(awaiting_verification())
    reason = case(
        (waiting_since.isnot(None), literal(Reason.HELP_REQUESTED.value)),
        (to_verify, literal(Reason.OFFICIAL_TO_VERIFY.value)),
        (due_follow_up, literal(Reason.FOLLOW_UP_DUE.value)),
        (agreement_ended, literal(Reason.AGREEMENT_ENDED.value)),
        (never_contacted, literal(Reason.NEVER_CONTACTED.value)),
        (target_passed, literal(Reason.TARGET_PASSED.value)),
        (or_(*stale_conditions), literal(Reason.NO_PROGRESS.value)),
        else_=None,
    )
    due = case(
        (waiting_since.isnot(None), waiting_since),
        (to_verify, Commitment.pledged_on),
        (due_follow_up, FollowUp.follow_up_on),
        (agreement_ended, ended.c.ended_on),
        (never_contacted, Commitment.pledged_on),
        (target_passed, Commitment.target_date),
        else_=Commitment.stage_changed_on,
    )
    # A follow-up date in the future snoozes an item, unless the official is waiting on us.
    snoozed = and_(
        FollowUp.follow_up_on.isnot(None), FollowUp.follow_up_on > today, waiting_since.is_(None)
    )
    return reason, due, snoozed


def follow_up_queue(
    today: date,
    flt: QueueFilter,
    *,
    page: int = 1,
    per_page: int = 50,
    total: int | None = None,
) -> QueuePage:
    """One page of the queue, in two queries (count and rows) whatever its length; one when
    the caller knows the length (`total`, which may be a little old: see followup/views.py).

    Reasons are decided on the commitment and its follow-up state alone, and names are
    joined only for the rows on the page: a queue of 70,000 costs one pass over the
    commitments, not four joins for each.
    """
    candidates, reason, due = _candidates(today, flt)
    if total is None:
        total = _count(candidates)
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    chosen = (
        candidates.order_by(reason, due, Commitment.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
        .subquery("chosen")
    )
    return QueuePage(_items(chosen), page, pages, total)


def cached_queue_page(today: date, flt: QueueFilter, page: int = 1) -> QueuePage:
    """The page staff see, cached like the figures (deciding the queue reads every open
    commitment): what the viewer wrote shows at once, a colleague's contacts and
    assignments within the lag. `flt` comes from QueueFilter.for_viewer."""

    def length() -> int:
        # Counted apart, and may lag even the viewer's own contacts (the rows do not):
        # counting is half the queue's cost, and staff look at the queue after every call.
        return cached(
            ("queue-length", flt, today), lambda: queue_length(today, flt), own_writes_may_lag=True
        )

    length()  # on every view, so that it is refreshed as it ages, not only with the page
    # Not keyed by the length: it changes every lag under steady work, and each page kept
    # per length it once had was recomputed in the background for minutes after.
    key = ("queue", flt, page, today)

    def compute() -> QueuePage:
        return follow_up_queue(today, flt, page=page, per_page=PAGE_SIZE, total=length())

    # The viewer's own recent changes (a logged call, an assignment) are applied to a page
    # that may lag, a few lookups by id; only changes too many to list recompute the page.
    own = revision.own_changed_commitments() if max_lag() else None
    if own is None:
        return cached(key, compute)
    shown = cached(key, compute, own_writes_may_lag=True)
    return with_changes(shown, today, flt, own, per_page=PAGE_SIZE) if own else shown


def with_changes(
    page: QueuePage, today: date, flt: QueueFilter, changed: frozenset[int], *,
    per_page: int = 50,
) -> QueuePage:  # fmt: skip
    """A page that may lag, with these commitments' places decided afresh.

    For the viewer's own recent changes on a cached page: a few lookups by id instead of
    deciding the whole queue again after every logged call. A changed commitment leaves the
    page, moves within it or joins it where it now sorts; one that now sorts onto another
    page joins that page when it is next computed (as the lagging length may be off by it).
    """
    candidates, _reason, _due = _candidates(today, flt)
    fresh = _items(candidates.where(Commitment.id.in_(sorted(changed))).subquery("chosen"))
    first = _sort_key(page.items[0]) if page.items and page.page > 1 else None
    last = _sort_key(page.items[-1]) if len(page.items) >= per_page else None
    items = [item for item in page.items if item.commitment_id not in changed]
    items += [
        item
        for item in fresh
        if (first is None or _sort_key(item) >= first) and (last is None or _sort_key(item) <= last)
    ]
    items.sort(key=_sort_key)
    return QueuePage(items[:per_page], page.page, page.pages, page.total)


def _sort_key(item: QueueItem) -> tuple:
    """The queue's order (follow_up_queue's ORDER BY)."""
    return (item.reason, item.due_on, item.commitment_id)


def _items(chosen) -> list[QueueItem]:
    """Queue items, with names, for a subquery of commitment ids, reasons and due dates."""
    owner = aliased(User)
    official = aliased(User)
    rows = db.session.execute(
        select(
            chosen.c.id,
            chosen.c.reason,
            chosen.c.due,
            Policy.short_title,
            Commitment.stage,
            official.id,
            official.name,
            Jurisdiction.name,
            Jurisdiction.state,
            owner.name,
        )
        .select_from(chosen)
        .join(Commitment, Commitment.id == chosen.c.id)
        .join(Policy, Policy.id == Commitment.policy_id)
        .join(official, official.id == Commitment.official_id)
        .join(Jurisdiction, Jurisdiction.id == Commitment.jurisdiction_id)
        .outerjoin(FollowUp, FollowUp.commitment_id == Commitment.id)
        .outerjoin(owner, owner.id == FollowUp.owner_id)
        .order_by(chosen.c.reason, chosen.c.due, chosen.c.id)
    )
    return [
        QueueItem(
            commitment_id=cid,
            reason=Reason(reason_value),
            due_on=due_on if isinstance(due_on, date) else date.fromisoformat(str(due_on)),
            policy_title=policy_title,
            stage=stage,
            official_id=official_id,
            official_name=official_name,
            jurisdiction_label=f"{jname}, {jstate}",
            owner_name=owner_name,
        )
        for (cid, reason_value, due_on, policy_title, stage, official_id, official_name,
             jname, jstate, owner_name) in rows
    ]  # fmt: skip


def queue_length(today: date, flt: QueueFilter) -> int:
    """How many commitments the queue holds for this filter."""
    return _count(_candidates(today, flt)[0])


def _count(candidates) -> int:
    return db.session.scalar(select(func.count()).select_from(candidates.subquery())) or 0


def _candidates(today: date, flt: QueueFilter):
    """The queue's commitments with their reason and due date, unordered, as a SELECT."""
    if flt.owner == "mine":
        raise ValueError("QueueFilter.for_viewer() first: the queue never reads the viewer")
    waiting = waiting_for_staff()
    ended = agreements_ended_subquery()
    reason, due, snoozed = _reason_and_due(today, waiting.c.since, ended)
    candidates = (
        select(Commitment.id.label("id"), reason.label("reason"), due.label("due"))
        .select_from(Commitment)
        .outerjoin(waiting, waiting.c.commitment_id == Commitment.id)
        .outerjoin(
            ended,
            and_(
                ended.c.jurisdiction_id == Commitment.jurisdiction_id,
                ended.c.policy_id == Commitment.policy_id,
            ),
        )
        .where(active_condition(), reason.isnot(None), ~snoozed)
    )
    # Only a follow-up row has an owner: an owner filter reads the few rows of that owner.
    owner_id = record_id(flt.owner)
    if owner_id is not None:
        candidates = candidates.join(FollowUp, FollowUp.commitment_id == Commitment.id).where(
            FollowUp.owner_id == owner_id
        )
    else:
        candidates = candidates.outerjoin(FollowUp, FollowUp.commitment_id == Commitment.id)
        if flt.owner == "unassigned":
            # An anti-join rather than `owner_id IS NULL` after the outer join, whose
            # selectivity PostgreSQL misjudges (and then probes places row by row).
            owned = aliased(FollowUp)
            candidates = candidates.where(
                ~exists().where(owned.commitment_id == Commitment.id, owned.owner_id.isnot(None))
            )
    if flt.state:
        candidates = candidates.where(
            Commitment.jurisdiction_id.in_(
                select(Jurisdiction.id).where(Jurisdiction.state == flt.state)
            )
        )
    if flt.policy:
        candidates = candidates.where(
            Commitment.policy_id.in_(select(Policy.id).where(Policy.slug == flt.policy))
        )
    if flt.stage:
        candidates = candidates.where(Commitment.stage == Stage(flt.stage))
    return candidates, reason, due
