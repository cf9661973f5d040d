"""A reference layer, its dated snapshots, the agreements they list, and what staff upload.

An agreement is one row of a published list: one agency, one support type (ICE lists an
agency once per type). Its natural key is (layer, status, state, agency, support type), so
the same file imported twice finds every row already there. Agreements are never deleted:
a newer snapshot that no longer lists one records the snapshot it was first missing from,
which is how the app shows where agreements ended.
"""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db, db_enum
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User
    from campaign.catalog.models import Policy
    from campaign.places.models import Jurisdiction


class LayerStatus(enum.StrEnum):
    """Which list a snapshot is: signed agreements, or agreements still pending."""

    PARTICIPATING = "participating"
    PENDING = "pending"

    @property
    def label(self) -> str:
        return {"participating": "Participating", "pending": "Pending"}[self.value]


class UploadStatus(enum.StrEnum):
    PENDING = "pending"  # uploaded; the dry run is shown until staff confirm
    APPLIED = "applied"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"pending": "Not imported yet", "applied": "Imported", "cancelled": "Cancelled"}[
            self.value
        ]


class ReferenceLayer(db.Model):
    """A public list tied to the policy it concerns (287(g) agreements → End 287(g))."""

    __tablename__ = "reference_layer"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"), index=True)
    source_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    policy: Mapped[Policy] = relationship()


class LayerSnapshot(db.Model):
    """One published list as of its date ("participating agencies, 2025-05-16")."""

    __tablename__ = "layer_snapshot"
    __table_args__ = (UniqueConstraint("layer_id", "status", "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(ForeignKey("reference_layer.id", ondelete="CASCADE"))
    status: Mapped[LayerStatus] = mapped_column(db_enum(LayerStatus, "layer_status"))
    as_of: Mapped[date] = mapped_column(Date)
    filename: Mapped[str] = mapped_column(String(255), default="")
    sha256: Mapped[str] = mapped_column(String(64), default="")
    rows: Mapped[int] = mapped_column(Integer, default=0)
    imported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    imported_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    layer: Mapped[ReferenceLayer] = relationship()
    imported_by: Mapped[User | None] = relationship()


class LayerAgreement(db.Model):
    """One agency's agreement of one support type, as the lists have shown it over time."""

    __tablename__ = "layer_agreement"
    __table_args__ = (
        UniqueConstraint(
            "layer_id",
            "status",
            "state",
            "agency_key",
            "support_type",
            name="uq_layer_agreement_key",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("reference_layer.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[LayerStatus] = mapped_column(db_enum(LayerStatus, "layer_status"))
    state: Mapped[str] = mapped_column(String(2))
    # The agency's name normalised (places.matching.normalize_name): the same agency whatever
    # its capitals, apostrophes or trailing spaces in a later list.
    agency_key: Mapped[str] = mapped_column(String(300))
    agency: Mapped[str] = mapped_column(String(300))
    agency_type: Mapped[str] = mapped_column(String(100), default="")
    county_text: Mapped[str] = mapped_column(String(200), default="")
    support_type: Mapped[str] = mapped_column(String(100), default="")
    signed_on: Mapped[date | None] = mapped_column(Date)
    link: Mapped[str | None] = mapped_column(Text)
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="SET NULL"), index=True
    )
    # Why the agreement is on no jurisdiction, in words staff understand.
    unplaced_reason: Mapped[str | None] = mapped_column(Text)
    first_snapshot_id: Mapped[int] = mapped_column(ForeignKey("layer_snapshot.id"))
    last_snapshot_id: Mapped[int] = mapped_column(ForeignKey("layer_snapshot.id"))
    # The first snapshot that no longer listed it; None while it is listed.
    ended_snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("layer_snapshot.id"))

    layer: Mapped[ReferenceLayer] = relationship()
    jurisdiction: Mapped[Jurisdiction | None] = relationship()
    first_snapshot: Mapped[LayerSnapshot] = relationship(foreign_keys=[first_snapshot_id])
    last_snapshot: Mapped[LayerSnapshot] = relationship(foreign_keys=[last_snapshot_id])
    ended_snapshot: Mapped[LayerSnapshot | None] = relationship(foreign_keys=[ended_snapshot_id])


class LayerMapping(db.Model):
    """The column mapping staff confirmed for a list's header layout, used again next time."""

    __tablename__ = "layer_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    mapping_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class LayerUpload(db.Model):
    """A list uploaded at /staff/layers/, kept until staff confirm (or cancel) the dry run."""

    __tablename__ = "layer_upload"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The layer is named, not linked: a new layer is made only when the import is confirmed.
    layer_name: Mapped[str] = mapped_column(String(200))
    policy_id: Mapped[int] = mapped_column(ForeignKey("policy.id"))
    source_note: Mapped[str] = mapped_column(Text, default="")
    list_status: Mapped[LayerStatus] = mapped_column(db_enum(LayerStatus, "layer_status"))
    as_of: Mapped[date] = mapped_column(Date)
    status: Mapped[UploadStatus] = mapped_column(db_enum(UploadStatus, "layer_upload_status"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    # {"headers": [...], "rows": [[number, [cells]], ...]} until applied or cancelled.
    sheet_json: Mapped[str | None] = mapped_column(Text)
    mapping_json: Mapped[str | None] = mapped_column(Text)  # {field: header}
    choices_json: Mapped[str | None] = mapped_column(Text)  # {agency choice key: jurisdiction key}
    summary_json: Mapped[str | None] = mapped_column(Text)

    policy: Mapped[Policy] = relationship()
    uploaded_by: Mapped[User | None] = relationship()

    @property
    def mapping(self) -> dict[str, str | None]:
        return json.loads(self.mapping_json) if self.mapping_json else {}

    @property
    def choices(self) -> dict[str, str]:
        return json.loads(self.choices_json) if self.choices_json else {}

    @property
    def summary(self) -> dict[str, Any]:
        return json.loads(self.summary_json) if self.summary_json else {}
