"""Follow-up state kept beside commitments, and the contact log."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db, db_enum
from campaign.figures.revision import affects_figures
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User
    from campaign.commitments.models import Commitment


class FollowUp(db.Model):
    """Staff's working state for one commitment: its owner, next date, last contact.

    Kept in its own table so the officials' records are not touched by staff bookkeeping.
    """

    __tablename__ = "follow_up"
    __table_args__ = affects_figures(staff_only=True, commitment_attribute="commitment_id")

    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), primary_key=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    follow_up_on: Mapped[date | None] = mapped_column(Date, index=True)
    last_contacted_at: Mapped[datetime | None] = mapped_column(DateTime)

    commitment: Mapped[Commitment] = relationship()
    owner: Mapped[User | None] = relationship()


class ContactKind(enum.StrEnum):
    CALL = "call"
    EMAIL = "email"
    MEETING = "meeting"
    NOTE = "note"

    @property
    def label(self) -> str:
        return {"call": "Call", "email": "Email", "meeting": "Meeting", "note": "Note"}[self.value]


class ContactLogEntry(db.Model):
    """A call, email, meeting or note with an official, optionally about one commitment."""

    __tablename__ = "contact_log_entry"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    kind: Mapped[ContactKind] = mapped_column(db_enum(ContactKind, "contact_kind"))
    contacted_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    next_follow_up_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    official: Mapped[User] = relationship(foreign_keys=[official_id])
    staff: Mapped[User | None] = relationship(foreign_keys=[staff_id])


class SentReminder(db.Model):
    """One reminder email that went out: who, which kind, when, about which commitments."""

    __tablename__ = "sent_reminder"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    sent_on: Mapped[date] = mapped_column(Date, index=True)
    subject: Mapped[str] = mapped_column(String(200))
    # Comma-separated commitment ids the message was about, for the record.
    commitment_ids: Mapped[str] = mapped_column(Text, default="")
