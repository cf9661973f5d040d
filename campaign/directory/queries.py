"""Directory listings in a fixed number of queries, filtered by what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import exists, func, or_, select

from campaign.accounts.models import User
from campaign.accounts.roles import can_see_contact_details, is_staff, official_condition
from campaign.commitments.models import Commitment
from campaign.commitments.visibility import directory_scope_condition
from campaign.extensions import db
from campaign.followup.models import ContactLogEntry
from campaign.places.matching import normalize_name
from campaign.places.models import Jurisdiction


@dataclass(frozen=True)
class DirectoryRow:
    official_id: int
    name: str
    office_title: str | None
    email: str | None
    phone: str | None
    jurisdiction_label: str | None
    commitments: int
    last_contact: date | None


@dataclass(frozen=True)
class DirectoryPage:
    rows: list[DirectoryRow]
    page: int
    pages: int
    total: int


def directory(
    viewer, *, state: str | None, search: str, page: int = 1, per_page: int = 50
) -> DirectoryPage:
    visible = directory_scope_condition(viewer)
    commitments = (
        select(func.count(Commitment.id))
        .where(Commitment.official_id == User.id, visible)
        .correlate(User)
        .scalar_subquery()
    )
    last_contact = (
        select(func.max(ContactLogEntry.contacted_on))
        .where(ContactLogEntry.official_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    stmt = (
        select(
            User.id, User.name, User.office_title, User.email, User.phone,
            Jurisdiction.name, Jurisdiction.state, commitments, last_contact,
        )
        .outerjoin(Jurisdiction, Jurisdiction.id == User.jurisdiction_id)
        .where(official_condition(User.role))
    )  # fmt: skip
    if not is_staff(viewer):
        stmt = stmt.where(exists().where(Commitment.official_id == User.id, visible))
    if state:
        stmt = stmt.where(Jurisdiction.state == state)
    if search.strip():
        needle = f"%{search.strip().lower()[:80]}%"
        stmt = stmt.where(
            or_(
                func.lower(User.name).like(needle),
                Jurisdiction.search_name.like(f"%{normalize_name(search)[:80]}%"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        stmt.order_by(User.name, User.id).limit(per_page).offset((page - 1) * per_page)
    )
    staff = can_see_contact_details(viewer)
    return DirectoryPage(
        [
            DirectoryRow(
                uid, name, office,
                email if staff else None, phone if staff else None,
                f"{jname}, {jstate}" if jname else None,
                int(count or 0),
                _as_date(contact) if staff else None,
            )
            for uid, name, office, email, phone, jname, jstate, count, contact in rows
        ],
        page, pages, total,
    )  # fmt: skip


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def visible_commitments_of(official: User, viewer) -> list[Commitment]:
    from sqlalchemy.orm import joinedload

    stmt = (
        select(Commitment)
        .where(Commitment.official_id == official.id, directory_scope_condition(viewer))
        .options(joinedload(Commitment.policy))
        .order_by(Commitment.policy_id)
    )
    return list(db.session.scalars(stmt))
