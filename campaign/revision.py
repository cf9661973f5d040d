"""Two counters that move with writes to the data the aggregates are built from.

Cached figures (map, dashboard, exports) are keyed by them (campaign/cache.py). Both are
raised inside the writing transaction, as its last statement, so readers see a new count no
earlier than the new data. Session hooks note every flush's effect and raise them at commit,
rather than each operation, because a forgotten call would quietly keep a hidden official
on the public map; bulk writes that bypass the ORM (demo data, gazetteer loading) call
`bump()` themselves.

- The *revision* (row 1) moves with every such write.
- The *hiding revision* (row 2) moves only with writes that may take something away from
  what the figures show or name: a commitment made counted or private or moved elsewhere,
  a renamed official, a deletion, a catalog edit. Progress reports, new commitments and new
  timeline entries only add or move counts, and staff's follow-up rows and help requests
  feed only staff's queue; cached values may lag those by AGGREGATE_MAX_LAG_SECONDS, but
  never a write that hides something.

The revision a request's own writes reached is kept in its session (`SESSION_KEY`), so the
person who made a change sees it at once however the cache lags for everyone else. So are
the commitments those writes changed, for a few minutes (`OWN_CHANGES_KEY`): the staff
queue applies them to a page that may lag instead of deciding the whole queue again.
"""

from __future__ import annotations

import time
from typing import NamedTuple

from flask import g, has_request_context
from flask import session as flask_session
from sqlalchemy import Integer, event, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from campaign.cache import max_lag
from campaign.extensions import db

ROW_ID = 1
HIDING_ROW_ID = 2
SESSION_KEY = "data_revision"
_PENDING = "campaign_pending_revision"  # session.info: the strongest effect of its writes
# In the person's session: [[commitment id, when], ...] their writes changed, newest last,
# or [[0, when]] when they changed more than that can say (many at once, or a commitment
# created or deleted).
OWN_CHANGES_KEY = "own_changes"
_CHANGED = "campaign_changed_commitments"  # session.info: ids, or None for "too many"
MAX_OWN_CHANGES = 40


class DataRevision(db.Model):
    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class Revisions(NamedTuple):
    revision: int
    hiding: int


def current() -> int:
    return current_pair().revision


def current_pair() -> Revisions:
    """Both counters in one query."""
    rows = dict(
        db.session.execute(
            select(DataRevision.id, DataRevision.revision).where(
                DataRevision.id.in_((ROW_ID, HIDING_ROW_ID))
            )
        ).all()
    )
    return Revisions(rows.get(ROW_ID) or 0, rows.get(HIDING_ROW_ID) or 0)


def bump(session: Session | None = None, *, hiding: bool = True) -> int:
    """Raise the revision (and the hiding revision unless told the write only adds);
    returns the new revision. For writes that bypass the ORM: nobody can tell which
    commitments they changed, so their author's queue is decided afresh."""
    session = session or db.session
    session.info[_CHANGED] = None
    return _bump(session, hiding=hiding)


def _bump(session: Session, *, hiding: bool) -> int:
    revision = _raise(session, ROW_ID)
    if hiding:
        _raise(session, HIDING_ROW_ID)
    session.info["campaign_revision"] = revision
    return revision


def _raise(session: Session, row_id: int) -> int:
    statement = (
        update(DataRevision)
        .where(DataRevision.id == row_id)
        .values(revision=DataRevision.revision + 1)
        .returning(DataRevision.revision)
        .execution_options(synchronize_session=False)
    )
    raised = session.execute(statement).scalar()
    if raised is not None:
        return raised
    # A missing row (emptied tables, or row 2 before the first hiding write): create it,
    # and if a concurrent transaction just did, raise theirs.
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    created = session.execute(
        insert(DataRevision)
        .values(id=row_id, revision=1)
        .on_conflict_do_nothing(index_elements=[DataRevision.id])
    )
    if created.rowcount:
        return 1
    return session.execute(statement).scalar_one()


def seen_revision() -> int:
    """The revision this person's own latest write reached (0 if none, or no request)."""
    if not has_request_context():
        return 0
    return int(flask_session.get(SESSION_KEY, 0))


def _tracked() -> tuple[type, ...]:
    from campaign.accounts.models import User
    from campaign.catalog.models import Policy, PolicyResource, Priority
    from campaign.commitments.models import Commitment, TimelineEntry
    from campaign.followup.models import FollowUp
    from campaign.help.models import HelpRequest
    from campaign.places.models import Jurisdiction

    return (
        Commitment,
        TimelineEntry,
        User,
        Jurisdiction,
        Policy,
        Priority,
        PolicyResource,
        FollowUp,
        HelpRequest,
    )


# Columns no aggregate reads: changing only these (as every sign-in does) keeps the figures.
# Not `verified_at`: verifying an official names and counts their commitments, and is seen
# at once (any other change to a user is taken as one that may hide something).
_UNREAD_COLUMNS = {
    "user": frozenset({"last_login_at", "password_hash", "session_token", "email_confirmed_at"})
}
# New rows of these kinds only add to the figures.
_ADDING_KINDS = frozenset({"commitment", "timeline_entry", "user", "jurisdiction"})
# Staff's own bookkeeping, read only by staff views (the follow-up queue): any new row or
# change may lag, since staff see every commitment anyway.
_STAFF_KINDS = frozenset({"follow_up", "help_request"})
# Changes to these columns only move counts between stages (and the timeline's checks).
_MOVING_COLUMNS = {
    "commitment": frozenset(
        {"stage", "furthest_stage", "stage_changed_on", "target_date", "note", "version"}
        | {"updated_at", "timeline"}
    ),
    "timeline_entry": frozenset({"verified_by", "verified_by_id", "verified_at"}),
}


def _effect(obj, session: Session) -> str | None:
    """'hides', 'adds' or None (no figure changes) for one pending object."""
    kind = getattr(obj, "__tablename__", "")
    if obj in session.deleted:
        return "hides"
    if obj in session.new:
        return "adds" if kind in _ADDING_KINDS | _STAFF_KINDS else "hides"
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    changed -= _UNREAD_COLUMNS.get(kind, frozenset())
    if not changed:
        return None
    if kind in _STAFF_KINDS or changed <= _MOVING_COLUMNS.get(kind, frozenset()):
        return "adds"
    return "hides"


@event.listens_for(Session, "before_flush")
def _note_write(session: Session, flush_context, instances) -> None:
    tracked = _tracked()
    changed = (*session.new, *session.dirty, *session.deleted)
    effects = {_effect(obj, session) for obj in changed if isinstance(obj, tracked)}
    if effects - {None}:
        _note_changed_commitments(session, changed)
    if "hides" in effects:
        session.info[_PENDING] = "hides"
    elif "adds" in effects and session.info.get(_PENDING) != "hides":
        session.info[_PENDING] = "adds"


@event.listens_for(Session, "before_commit")
def _bump_before_commit(session: Session) -> None:
    """Raise the counters as the transaction's last statement.

    Every writer raises the same row, and on PostgreSQL the row stays locked until commit:
    raised at the first flush, it queued every other writer behind this one's whole
    request (POST p95 over 500 ms under `make loadtest`); raised last, for a moment.
    """
    session.flush()  # the final flush, whose changes before_flush notes, runs after this hook
    effect = session.info.pop(_PENDING, None)
    if effect is not None:
        _bump(session, hiding=effect == "hides")


def _note_changed_commitments(session: Session, changed) -> None:
    """Which commitments this transaction changed, itself or through its follow-up state or
    help requests; None once that is more than a list can say."""
    ids = session.info.setdefault(_CHANGED, set())
    if ids is None:
        return
    for obj in changed:
        kind = getattr(obj, "__tablename__", "")
        if kind == "commitment":
            if obj in session.new or obj in session.deleted:
                session.info[_CHANGED] = None
                return
            ids.add(obj.id)
        elif kind in ("follow_up", "help_request") and obj.commitment_id is not None:
            ids.add(obj.commitment_id)
    if len(ids) > MAX_OWN_CHANGES:
        session.info[_CHANGED] = None


@event.listens_for(Session, "after_commit")
def _remember_own_write(session: Session) -> None:
    """Not for a visitor nobody is signed in as: their write (a sign-up) shows them no
    figure, and a cookie it set would tell a new address from a known one."""
    revision = session.info.pop("campaign_revision", None)
    changed = session.info.pop(_CHANGED, set())
    if revision is not None and has_request_context() and not _anonymous():
        flask_session[SESSION_KEY] = max(revision, seen_revision())
        _remember_changed_commitments(changed)


def _anonymous() -> bool:
    """Whether the request's user, as Flask-Login already loaded it, is nobody signed in;
    read from `g`, since no SQL may run after a commit."""
    user = g.get("_login_user")
    return user is not None and not user.is_authenticated


def _remember_changed_commitments(changed: set[int] | None) -> None:
    now = int(time.time())
    since = now - _own_changes_window()
    kept = [
        pair
        for pair in flask_session.get(OWN_CHANGES_KEY, [])
        if pair[1] >= since and pair[0] not in (changed or ())
    ]
    kept += [
        [commitment_id, now] for commitment_id in (sorted(changed) if changed is not None else [0])
    ]
    if len(kept) > MAX_OWN_CHANGES:
        kept = [[0, now]]
    flask_session[OWN_CHANGES_KEY] = kept


def own_changed_commitments() -> frozenset[int] | None:
    """The commitments this person's writes changed recently enough that a cached page may
    not show them yet, or None if that cannot be said (too many, or some created or
    deleted): then only reading everything afresh shows all their changes."""
    if not has_request_context():
        return frozenset()
    since = time.time() - _own_changes_window()
    recent = [pair for pair in flask_session.get(OWN_CHANGES_KEY, []) if pair[1] >= since]
    ids = frozenset(commitment_id for commitment_id, _when in recent)
    return None if 0 in ids else ids


def _own_changes_window() -> float:
    """How long one's own changes are remembered: a cached page may be as old as the
    figures' lag plus its computation (a minute's margin, and the lag again)."""
    return 2 * max_lag() + 60


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_write(session: Session) -> None:
    session.info.pop("campaign_revision", None)
    session.info.pop(_CHANGED, None)
    session.info.pop(_PENDING, None)
