"""Two counters that move with writes to the data the aggregates are built from.

Cached figures (map, dashboard, exports) are keyed by them (campaign/figures/cache.py). Both are
raised inside the writing transaction, as its last statement, so readers see a new count no
earlier than the new data. Session hooks (installed by `track_writes`, from the app
factory) note every flush's effect and raise them at commit, rather than each operation,
because a forgotten call would quietly keep a hidden official on the public map; bulk
writes that bypass the ORM (demo data, gazetteer loading) call `bump()` themselves.

This module knows no feature: each table the figures read says how its writes move them,
with `affects_figures(...)` in its `__table_args__` (a `FigureEffects` in the table's
`info`), and a table that says nothing moves nothing.

- The *revision* (row 1) moves with every such write.
- The *hiding revision* (row 2) moves only with writes that may take something away from
  what the figures show or name: a commitment made counted or private, withdrawn or moved
  elsewhere, a renamed or verified official, a deletion, a catalog edit. Progress reports,
  new commitments and new timeline entries only add or move counts, and staff's follow-up
  rows and help requests feed only staff's queue; cached values may lag those by
  AGGREGATE_MAX_LAG_SECONDS, but never a write that hides something.

A hiding write that takes away only what one row contributed (a withdrawal) says where it
contributed: its table's `footprint` gives a small mapping (the commitment's jurisdiction,
state, policy and stage before), stored beside the new hiding revision (`HidingFootprint`).
A cached figure whose filter covers none of the footprints since it was computed is still
exact, and the cache carries it over (`hiding_since`, cache.cached's `unaffected_by`): a
withdrawal in Ohio changes the nation's and Ohio's figures, not Texas's, and those it
changes may be patched rather than computed again (cache.cached's `patch`). Any other
hiding write has no footprint and makes every figure unusable, as before.

The revision a request's own writes reached is kept in its session (`SESSION_KEY`), so the
person who made a change sees it at once however the cache lags for everyone else. So are
the commitments those writes changed, for a few minutes (`OWN_CHANGES_KEY`): the staff
queue applies them to a page that may lag instead of deciding the whole queue again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Literal, NamedTuple

from flask import current_app, g, has_request_context
from flask import session as flask_session
from sqlalchemy import Integer, Text, delete, event, insert, inspect, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

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
# session.info: the footprints of its hiding writes, or None once one hides everywhere.
_FOOTPRINTS = "campaign_hiding_footprints"
# Footprints are kept for this many hiding revisions; a figure older than that is computed
# again rather than checked against each of them.
KEPT_FOOTPRINTS = 64


class DataRevision(db.Model):
    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


class HidingFootprint(db.Model):
    """Where a hiding write took something away (see the module docstring); a hiding
    revision with no row here may have hidden anything."""

    __tablename__ = "hiding_footprint"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, index=True)
    footprint: Mapped[str] = mapped_column(Text)  # JSON: the table's footprint mapping


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


def _bump(session: Session, *, hiding: bool, footprints: list[Mapping] | None = None) -> int:
    revision = _raise(session, ROW_ID)
    if hiding:
        hiding_revision = _raise(session, HIDING_ROW_ID)
        if footprints:
            _keep_footprints(session, hiding_revision, footprints)
    session.info["campaign_revision"] = revision
    return revision


def _keep_footprints(session: Session, hiding_revision: int, footprints: list[Mapping]) -> None:
    session.execute(
        insert(HidingFootprint),
        [
            {"revision": hiding_revision, "footprint": json.dumps(dict(f), sort_keys=True)}
            for f in footprints
        ],
    )
    session.execute(
        delete(HidingFootprint).where(HidingFootprint.revision <= hiding_revision - KEPT_FOOTPRINTS)
    )


def hiding_since(after: int, upto: int) -> list[dict] | None:
    """The footprints of the hiding revisions after `after` up to `upto`, or None when one
    of them may have hidden anything (it has none, or it is no longer kept)."""
    if upto - after > KEPT_FOOTPRINTS or upto <= after:
        return None if upto != after else []
    known = g.setdefault("campaign_hiding_since", {}) if has_request_context() else {}
    if (after, upto) in known:
        return known[(after, upto)]
    rows = db.session.execute(
        select(HidingFootprint.revision, HidingFootprint.footprint).where(
            HidingFootprint.revision > after, HidingFootprint.revision <= upto
        )
    ).all()
    found = None
    if len({revision for revision, _f in rows}) == upto - after:
        found = [json.loads(footprint) for _revision, footprint in rows]
    known[(after, upto)] = found
    return found


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


INFO_KEY = "campaign_figures"


@dataclass(frozen=True)
class FigureEffects:
    """How writes to one table move the cached figures. Anything not listed as harmless
    is taken to hide something, so a column added later errs on the side of freshness."""

    new_rows: Literal["add", "hide"] = "hide"
    # Read by staff's views only (the follow-up queue): any write to it may lag.
    staff_only: bool = False
    # Columns no figure reads: changing only these (as every sign-in does) keeps them.
    unread: frozenset[str] = frozenset()
    # Columns whose change only moves counts (between stages, along the timeline)...
    moving: frozenset[str] = frozenset()
    # ...unless set to one of these values, which takes something away (a withdrawal).
    hiding_values: Mapping[str, frozenset] = field(default_factory=dict)
    # The attribute holding the commitment a row belongs to, for its author's queue; "id"
    # for the commitment itself, whose creation or deletion no list of ids can describe.
    commitment_attribute: str | None = None
    # For a write that hides only through hiding_values: where the row counted before it,
    # as a JSON-able mapping (None: it may have hidden anything). See the module docstring.
    footprint: Callable[[object], Mapping | None] | None = None


def affects_figures(
    *,
    new_rows: Literal["add", "hide"] = "hide",
    staff_only: bool = False,
    unread: Collection[str] = (),
    moving: Collection[str] = (),
    hiding_values: Mapping[str, Collection] | None = None,
    commitment_attribute: str | None = None,
    footprint: Callable[[object], Mapping | None] | None = None,
) -> dict:
    """Table options (for `__table_args__`) saying how writes to the table move the figures."""
    effects = FigureEffects(
        new_rows=new_rows,
        staff_only=staff_only,
        unread=frozenset(unread),
        moving=frozenset(moving),
        hiding_values={column: frozenset(v) for column, v in (hiding_values or {}).items()},
        commitment_attribute=commitment_attribute,
        footprint=footprint,
    )
    return {"info": {INFO_KEY: effects}}


def _effects_of(obj) -> FigureEffects | None:
    table = getattr(type(obj), "__table__", None)
    return None if table is None else table.info.get(INFO_KEY)


_EVERYWHERE = None  # the footprint of a write that may have hidden anything


def _effect(obj, effects: FigureEffects, session: Session) -> tuple[str | None, Mapping | None]:
    """'hides', 'adds' or None (no figure changes) for one pending object, and where a
    hiding one hid (its footprint, or _EVERYWHERE)."""
    if obj in session.deleted:
        return ("adds" if effects.staff_only else "hides"), _EVERYWHERE
    if obj in session.new:
        return ("adds" if effects.staff_only or effects.new_rows == "add" else "hides"), None
    changes = {attr.key: attr.history for attr in inspect(obj).attrs if attr.history.has_changes()}
    changed = set(changes) - effects.unread
    if not changed:
        return None, None
    if effects.staff_only:
        return "adds", None
    if not changed <= effects.moving:
        return "hides", _EVERYWHERE
    for column, values in effects.hiding_values.items():
        if column in changes and any(value in values for value in changes[column].added):
            footprint = effects.footprint(obj) if effects.footprint else _EVERYWHERE
            return "hides", footprint
    return "adds", None


def _note_write(session: Session, flush_context, instances) -> None:
    changed = [
        (obj, effects)
        for obj in (*session.new, *session.dirty, *session.deleted)
        if (effects := _effects_of(obj)) is not None
    ]
    noted = [_effect(obj, obj_effects, session) for obj, obj_effects in changed]
    effects = {effect for effect, _footprint in noted}
    if effects - {None}:
        _note_changed_commitments(session, changed)
    if "hides" in effects:
        # Earlier flushes of the transaction that hid already left their footprints (or
        # None, for everywhere); this one adds its own.
        footprints = session.info.get(_FOOTPRINTS) if session.info.get(_PENDING) == "hides" else []
        for effect, footprint in noted:
            if effect == "hides" and footprints is not None:
                footprints = None if footprint is _EVERYWHERE else [*footprints, footprint]
        session.info[_FOOTPRINTS] = footprints
        session.info[_PENDING] = "hides"
    elif "adds" in effects and session.info.get(_PENDING) != "hides":
        session.info[_PENDING] = "adds"


def _bump_before_commit(session: Session) -> None:
    """Raise the counters as the transaction's last statement.

    Every writer raises the same row, and on PostgreSQL the row stays locked until commit:
    raised at the first flush, it queued every other writer behind this one's whole
    request (POST p95 over 500 ms under `make loadtest`); raised last, for a moment.
    """
    session.flush()  # the final flush, whose changes before_flush notes, runs after this hook
    effect = session.info.pop(_PENDING, None)
    footprints = session.info.pop(_FOOTPRINTS, None)
    if effect is not None:
        _bump(session, hiding=effect == "hides", footprints=footprints)


def _note_changed_commitments(session: Session, changed) -> None:
    """Which commitments this transaction changed, itself or through its follow-up state or
    help requests; None once that is more than a list can say."""
    ids = session.info.setdefault(_CHANGED, set())
    if ids is None:
        return
    for obj, effects in changed:
        attribute = effects.commitment_attribute
        if attribute is None:
            continue
        if attribute == "id" and (obj in session.new or obj in session.deleted):
            session.info[_CHANGED] = None
            return
        if (commitment_id := getattr(obj, attribute)) is not None:
            ids.add(commitment_id)
    if len(ids) > MAX_OWN_CHANGES:
        session.info[_CHANGED] = None


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
    return 2 * float(current_app.config.get("AGGREGATE_MAX_LAG_SECONDS", 0)) + 60


def _forget_rolled_back_write(session: Session) -> None:
    session.info.pop("campaign_revision", None)
    session.info.pop(_CHANGED, None)
    session.info.pop(_PENDING, None)
    session.info.pop(_FOOTPRINTS, None)


_HOOKS = (
    ("before_flush", _note_write),
    ("before_commit", _bump_before_commit),
    ("after_commit", _remember_own_write),
    ("after_rollback", _forget_rolled_back_write),
)


def track_writes() -> None:
    """Install the hooks that raise the counters on every ORM session (once per process,
    however many apps are built): note each flush's effect, raise the counters as the
    commit's last statement, remember the author's revision in their session cookie, and
    forget all of it on rollback."""
    for name, hook in _HOOKS:
        if not event.contains(Session, name, hook):
            event.listen(Session, name, hook)
