"""Commitments and their append-only timelines."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import inspect as inspect_instance
from sqlalchemy.orm import Mapped, WriteOnlyMapped, mapped_column, object_session, relationship

from campaign.commitments.stages import Stage
from campaign.extensions import db, db_enum
from campaign.figures.revision import affects_figures
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User
    from campaign.catalog.models import Policy
    from campaign.places.models import Jurisdiction


class Visibility(enum.StrEnum):
    PUBLIC = "public"
    COUNTED = "counted"
    PRIVATE = "private"

    @property
    def label(self) -> str:
        return VISIBILITY_LABELS[self][0]

    @property
    def explanation(self) -> str:
        return VISIBILITY_LABELS[self][1]

    @property
    def openness(self) -> int:
        """Private 0 < counted 1 < public 2: a higher value shows the commitment to more."""
        return OPENNESS.index(self)


OPENNESS = (Visibility.PRIVATE, Visibility.COUNTED, Visibility.PUBLIC)


VISIBILITY_LABELS = {
    Visibility.PUBLIC: ("Public", "Shown with your name and jurisdiction on the public site."),
    Visibility.COUNTED: (
        "Counted, not named",
        "Included in public totals; your name and jurisdiction are never shown.",
    ),
    Visibility.PRIVATE: (
        "Private to campaign staff",
        "Only campaign staff see it; it is left out of every public number.",
    ),
}


def withdrawal_footprint(commitment: Commitment) -> dict | None:
    """Where a commitment being withdrawn counted until now (footprint, with its stage
    before); None when that stage is not known: the withdrawal then hides everywhere."""
    before = inspect_instance(commitment).attrs.stage.history.deleted
    session = object_session(commitment)
    if not before or session is None:
        return None
    with session.no_autoflush:
        return footprint(commitment, Stage(before[0]))


def footprint(commitment: Commitment, stage: Stage) -> dict:
    """What AdoptionFilter.covers reads of a commitment at `stage` (its state, its policy's
    slug, priority and ✓ mark, and the stage), and its jurisdiction, whose row of the map's
    figures is then read again (aggregates.after_withdrawals)."""
    policy = commitment.policy
    return {
        "jurisdiction": commitment.jurisdiction_id,
        "state": commitment.jurisdiction.state,
        "policy": policy.slug,
        "priority": policy.priority.slug,
        "hostile": bool(policy.hostile_state_friendly),
        "stage": stage.value,
    }


class Commitment(db.Model):
    """One official's commitment to advance one policy in the jurisdiction they serve."""

    __tablename__ = "commitment"
    __table_args__ = (
        UniqueConstraint("official_id", "policy_id"),
        # Every column the map's and dashboard's figures read, policy first (filters name a
        # policy or a few): their scans read this index alone, a third of the table's width,
        # and a policy filter reads only its slice (commitments/aggregates.py).
        Index(
            "ix_commitment_figures",
            "policy_id",
            "stage",
            "visibility",
            "jurisdiction_id",
            "official_id",
            "pledged_on",
        ),
        # Progress moves counts between stages and may lag; a withdrawal takes one away, and
        # a change of visibility, official, policy or place may unname one: both at once
        # (a withdrawal only where the commitment counted).
        affects_figures(
            new_rows="add",
            moving={"stage", "furthest_stage", "stage_changed_on", "target_date", "note"}
            | {"version", "updated_at", "timeline"},
            hiding_values={"stage": {Stage.WITHDRAWN}},
            commitment_attribute="id",
            footprint=withdrawal_footprint,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    official_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))  # ix_commitment_figures
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdiction.id"), index=True)
    visibility: Mapped[Visibility] = mapped_column(db_enum(Visibility, "visibility"))
    # active_history: the stage a withdrawal left is loaded before it is replaced, even on
    # an expired row, so the withdrawal can say where it counted (withdrawal_footprint).
    stage: Mapped[Stage] = mapped_column(db_enum(Stage, "stage"), index=True, active_history=True)
    # The furthest point on the main line ever reached, so a stall resumes where it stopped.
    furthest_stage: Mapped[Stage] = mapped_column(db_enum(Stage, "furthest_stage"))
    pledged_on: Mapped[date] = mapped_column(Date, index=True)
    stage_changed_on: Mapped[date] = mapped_column(Date)
    target_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime, default=utcnow, onupdate=utcnow, index=True
    )
    # Optimistic locking: a save made from a stale form is refused, not silently applied.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    official: Mapped[User] = relationship()
    policy: Mapped[Policy] = relationship()
    jurisdiction: Mapped[Jurisdiction] = relationship()
    timeline: WriteOnlyMapped[TimelineEntry] = relationship(
        back_populates="commitment",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TimelineEntry.id",
    )


class TimelineEntry(db.Model):
    """A dated event in a commitment's life. Entries are only ever added."""

    __tablename__ = "timeline_entry"
    # Entries only add; staff checking one's evidence moves nothing anyone else counts.
    __table_args__ = affects_figures(
        new_rows="add", moving={"verified_by", "verified_by_id", "verified_at"}
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    commitment_id: Mapped[int] = mapped_column(
        ForeignKey("commitment.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[Stage] = mapped_column(db_enum(Stage, "stage"))
    occurred_on: Mapped[date] = mapped_column(Date)
    # The date is a guess: an imported row had none and staff chose the file's date for it.
    date_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Staff check evidence links; who checked and when is shown beside the link.
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Where an imported entry came from: a spreadsheet import, or the helpdesk email it records.
    import_batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), index=True
    )
    mail_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("mail_message.id", ondelete="SET NULL"), index=True
    )

    commitment: Mapped[Commitment] = relationship(back_populates="timeline")
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])
