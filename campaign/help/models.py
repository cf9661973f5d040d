"""A help request on a commitment, and the messages of its thread."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import DateTime, ForeignKey, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db, db_enum
from campaign.figures.revision import affects_figures
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User
    from campaign.commitments.models import Commitment


class HelpTopic(enum.StrEnum):
    MODEL_LANGUAGE = "model_language"
    LEGAL_REVIEW = "legal_review"
    MESSAGING = "messaging"
    OTHER = "other"

    @property
    def label(self) -> str:
        return {
            "model_language": "Model language",
            "legal_review": "Legal review",
            "messaging": "Messaging",
            "other": "Something else",
        }[self.value]


class HelpStatus(enum.StrEnum):
    WAITING_FOR_STAFF = "waiting_for_staff"
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "waiting_for_staff": "Waiting for the campaign",
            "answered": "Answered",
            "closed": "Closed",
        }[self.value]


class HelpRequest(db.Model):
    __tablename__ = "help_request"
    __table_args__ = affects_figures(staff_only=True, commitment_attribute="commitment_id")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    official_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    topic: Mapped[HelpTopic] = mapped_column(db_enum(HelpTopic, "help_topic"))
    status: Mapped[HelpStatus] = mapped_column(db_enum(HelpStatus, "help_status"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    commitment: Mapped[Commitment] = relationship()
    official: Mapped[User] = relationship()
    messages: Mapped[list[HelpMessage]] = relationship(
        back_populates="request", order_by="HelpMessage.id", cascade="all, delete-orphan"
    )


class HelpMessage(db.Model):
    __tablename__ = "help_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("help_request.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    request: Mapped[HelpRequest] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()
