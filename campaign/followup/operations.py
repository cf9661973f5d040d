"""What staff do from the queue. Functions add, flush and audit; callers commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from campaign.accounts.models import User
from campaign.accounts.roles import is_staff, staff_condition
from campaign.audit.operations import record
from campaign.commitments.models import Commitment
from campaign.commitments.visibility import open_condition
from campaign.extensions import db
from campaign.figures.cache import cached
from campaign.followup.models import ContactKind, ContactLogEntry, FollowUp
from campaign.timeutil import utcnow


class FollowUpError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def follow_up_for(commitment: Commitment) -> FollowUp:
    """The commitment's follow-up row, created if missing, also when two staff race to it.

    A plain get-then-add lets two transactions both insert (on PostgreSQL the second then
    fails on the primary key: a 500 the load test found); INSERT ... ON CONFLICT DO NOTHING
    waits for the other transaction and then reads the row it made.
    """
    state = db.session.get(FollowUp, commitment.id)
    if state is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        db.session.execute(
            insert(FollowUp).values(commitment_id=commitment.id).on_conflict_do_nothing()
        )
        state = db.session.get(FollowUp, commitment.id, populate_existing=True)
    return state


@dataclass(frozen=True)
class StaffMember:
    id: int
    name: str


def staff_members() -> list[StaffMember]:
    """Active staff and admins by name, for owner menus and filters.

    Finding them reads every user (no index on role), so the list is cached like the
    figures: a role change or a deactivation shows at once, a new account within the lag,
    even to whoever made it (or every contact a staff member logs would recompute it).
    """

    def load() -> list[StaffMember]:
        rows = db.session.execute(
            select(User.id, User.name)
            .where(staff_condition(User.role), User.active.is_(True))
            .order_by(User.name)
        )
        return [StaffMember(uid, name) for uid, name in rows]

    return cached(("staff-members",), load, own_writes_may_lag=True)


def assign(commitments: list[Commitment], owner: User | None, actor: User) -> int:
    """Give commitments to a staff member (or to nobody); returns how many changed."""
    if owner is not None and not is_staff(owner):
        raise FollowUpError("Only staff members can own follow-ups.", field="owner")
    changed = 0
    for commitment in commitments:
        state = follow_up_for(commitment)
        if state.owner_id == (owner.id if owner else None):
            continue
        before = state.owner.name if state.owner else None
        state.owner = owner
        changed += 1
        record(
            actor,
            "commitment.assigned",
            commitment,
            f"Follow-up owner: {before or 'nobody'} → {owner.name if owner else 'nobody'}",
            {"owner": [before, owner.name if owner else None]},
        )
    db.session.flush()
    return changed


def log_contact(
    *,
    official: User,
    commitment: Commitment | None,
    staff: User,
    kind: ContactKind,
    contacted_on: date,
    note: str,
    next_follow_up_on: date | None,
) -> ContactLogEntry:
    """Record a contact; its next follow-up date becomes the commitment's, snoozing it."""
    if commitment is not None and commitment.official_id != official.id:
        raise FollowUpError("That commitment belongs to another official.")
    if next_follow_up_on is not None and next_follow_up_on < contacted_on:
        raise FollowUpError(
            "The next follow-up cannot be before the contact.", field="next_follow_up_on"
        )
    entry = ContactLogEntry(
        official=official,
        commitment_id=commitment.id if commitment else None,
        staff=staff,
        kind=kind,
        contacted_on=contacted_on,
        note=note or "",
        next_follow_up_on=next_follow_up_on,
    )
    db.session.add(entry)
    # A contact about one commitment updates that one; a contact with the official (no
    # commitment named) counts for every commitment they still have open.
    if commitment is not None:
        touched = [commitment]
    else:
        touched = list(
            db.session.scalars(
                select(Commitment).where(
                    Commitment.official_id == official.id,
                    open_condition(),
                )
            )
        )
    contacted_at = datetime.combine(contacted_on, utcnow().time())
    for item in touched:
        state = follow_up_for(item)
        state.last_contacted_at = max(state.last_contacted_at or datetime.min, contacted_at)
        state.follow_up_on = next_follow_up_on
        if state.owner_id is None:
            state.owner = staff
    db.session.flush()
    record(
        staff,
        "contact.logged",
        commitment if commitment is not None else official,
        f"{kind.label} with {official.name} on {contacted_on.isoformat()}"
        + (f"; next follow-up {next_follow_up_on.isoformat()}" if next_follow_up_on else ""),
    )
    return entry


def contact_log(official_id: int, commitment_id: int | None = None) -> list[ContactLogEntry]:
    stmt = select(ContactLogEntry).where(ContactLogEntry.official_id == official_id)
    if commitment_id is not None:
        stmt = stmt.where(ContactLogEntry.commitment_id == commitment_id)
    stmt = stmt.order_by(ContactLogEntry.contacted_on.desc(), ContactLogEntry.id.desc())
    return list(db.session.scalars(stmt.limit(200)))


def verify_evidence(entry, staff: User) -> None:
    """Mark a timeline entry's evidence link as checked by a named staff member."""
    if not entry.evidence_url:
        raise FollowUpError("This entry has no evidence link to verify.")
    if entry.verified_at is not None:
        return
    entry.verified_by = staff
    entry.verified_at = utcnow()
    record(
        staff,
        "evidence.verified",
        entry.commitment,
        f"Evidence verified for {entry.stage.label.lower()}: {entry.evidence_url[:200]}",
    )
    db.session.flush()


def unconfirmed_bodies():
    """School districts and other bodies officials entered, oldest first, with their officials."""
    from campaign.places.models import Jurisdiction

    bodies = list(
        db.session.scalars(
            select(Jurisdiction)
            .where(Jurisdiction.confirmed.is_(False))
            .order_by(Jurisdiction.created_at, Jurisdiction.id)
            .limit(500)
        )
    )
    officials = {}
    if bodies:
        for user in db.session.scalars(
            select(User).where(User.jurisdiction_id.in_([b.id for b in bodies]))
        ):
            officials.setdefault(user.jurisdiction_id, []).append(user)
    return [(body, officials.get(body.id, [])) for body in bodies]


def confirm_body(body, staff: User) -> None:
    if body.confirmed:
        return
    body.confirmed = True
    record(staff, "jurisdiction.confirmed", body, f"Confirmed {body.label} ({body.kind.label})")
    db.session.flush()
