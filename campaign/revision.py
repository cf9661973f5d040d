"""A single counter that moves with every write to the data the aggregates are built from.

Cached figures (map, dashboard, exports) are keyed by it, so they can never outlive a change:
the counter is raised inside the writing transaction, and readers see the new counter no
earlier than the new data. It is raised from a `before_flush` hook rather than by each
operation because a forgotten call would quietly keep a hidden official on the public map;
bulk writes that bypass the ORM (demo data, gazetteer loading) call `bump()` themselves.
"""

from __future__ import annotations

from sqlalchemy import Integer, event, insert, inspect, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from campaign.extensions import db

ROW_ID = 1


class DataRevision(db.Model):
    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)


def current() -> int:
    return db.session.scalar(select(DataRevision.revision).where(DataRevision.id == ROW_ID)) or 0


def bump(session: Session | None = None) -> None:
    session = session or db.session
    result = session.execute(
        update(DataRevision)
        .where(DataRevision.id == ROW_ID)
        .values(revision=DataRevision.revision + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        session.execute(insert(DataRevision).values(id=ROW_ID, revision=1))


def _tracked() -> tuple[type, ...]:
    from campaign.accounts.models import User
    from campaign.catalog.models import Policy, PolicyResource, Priority
    from campaign.commitments.models import Commitment, TimelineEntry
    from campaign.places.models import Jurisdiction

    return (Commitment, TimelineEntry, User, Jurisdiction, Policy, Priority, PolicyResource)


# Columns no aggregate reads: changing only these (as every sign-in does) keeps the figures.
_UNREAD_COLUMNS = {"user": frozenset({"last_login_at", "password_hash", "session_token"})}


def _changes_figures(obj, session: Session) -> bool:
    if obj in session.new or obj in session.deleted:
        return True
    unread = _UNREAD_COLUMNS.get(getattr(obj, "__tablename__", ""), frozenset())
    changed = {attr.key for attr in inspect(obj).attrs if attr.history.has_changes()}
    return bool(changed - unread)


@event.listens_for(Session, "before_flush")
def _bump_on_write(session: Session, flush_context, instances) -> None:
    tracked = _tracked()
    changed = (*session.new, *session.dirty, *session.deleted)
    if any(isinstance(obj, tracked) and _changes_figures(obj, session) for obj in changed):
        bump(session)
