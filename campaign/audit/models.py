"""An audit entry: one change by one person (or the system) to one record."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User


class AuditEntry(db.Model):
    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_subject", "subject_type", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Null when the system acted (a command, an import); kept when the actor is deleted.
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(60), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int] = mapped_column(Integer)
    summary: Mapped[str] = mapped_column(String(300))
    # JSON object {field: [before, after]}; never secrets such as password hashes.
    changes: Mapped[str | None] = mapped_column(Text)

    actor: Mapped[User | None] = relationship()
