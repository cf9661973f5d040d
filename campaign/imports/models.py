"""What an import leaves behind: the batch (who uploaded what, and what came of it), the
column mapping remembered per header layout, and one triage item per email message."""

from __future__ import annotations

import enum
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.extensions import db, db_enum
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.accounts.models import User


class ImportKind(enum.StrEnum):
    SPREADSHEET = "spreadsheet"
    MAILBOX = "mailbox"

    @property
    def label(self) -> str:
        return {"spreadsheet": "Spreadsheet", "mailbox": "Mailbox"}[self.value]


class ImportStatus(enum.StrEnum):
    PENDING = "pending"  # uploaded; the dry run is shown until staff confirm
    APPLIED = "applied"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return {"pending": "Not imported yet", "applied": "Imported", "cancelled": "Cancelled"}[
            self.value
        ]


class ImportBatch(db.Model):
    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[ImportKind] = mapped_column(db_enum(ImportKind, "import_kind"))
    status: Mapped[ImportStatus] = mapped_column(db_enum(ImportStatus, "import_status"))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Spreadsheets: {"headers": [...], "rows": [[number, [cells]], ...]} until applied or
    # cancelled, then emptied: the data lives on in the records it created.
    sheet_json: Mapped[str | None] = mapped_column(Text)
    mapping_json: Mapped[str | None] = mapped_column(Text)  # {field: header}
    # {spelling: jurisdiction key or policy slug, "undated": "skip" or "estimate"}
    choices_json: Mapped[str | None] = mapped_column(Text)
    summary_json: Mapped[str | None] = mapped_column(Text)  # counts and per-item report

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


class SavedMapping(db.Model):
    """The column mapping staff confirmed for a header layout, offered again next time."""

    __tablename__ = "import_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    signature: Mapped[str] = mapped_column(String(64), unique=True)
    mapping_json: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class TriageStatus(enum.StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    NOT_COMMITMENT = "not_commitment"

    @property
    def label(self) -> str:
        return {
            "new": "To triage",
            "accepted": "Accepted",
            "not_commitment": "Not a commitment",
        }[self.value]


class MailMessage(db.Model):
    """One message from the helpdesk mailbox, kept as text, with what the app suggests."""

    __tablename__ = "mail_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of the Message-ID: the same message imported twice is found, however long its id.
    message_key: Mapped[str] = mapped_column(String(64), unique=True)
    message_id: Mapped[str] = mapped_column(Text)
    thread_key: Mapped[str] = mapped_column(String(64), index=True)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    references_json: Mapped[str | None] = mapped_column(Text)
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    sender_email: Mapped[str | None] = mapped_column(String(254), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    subject: Mapped[str] = mapped_column(String(500), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    attachments_json: Mapped[str | None] = mapped_column(Text)  # [{filename, content_type, size}]
    problems_json: Mapped[str | None] = mapped_column(Text)  # ["unknown charset ...", ...]
    source: Mapped[str] = mapped_column(String(500), default="")
    raw_sha256: Mapped[str] = mapped_column(String(64))
    raw_size: Mapped[int] = mapped_column(Integer, default=0)
    batch_id: Mapped[int | None] = mapped_column(
        ForeignKey("import_batch.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[TriageStatus] = mapped_column(db_enum(TriageStatus, "triage_status"), index=True)
    # Suggestions made at import time: [jurisdiction ids], [policy ids].
    suggested_jurisdictions_json: Mapped[str | None] = mapped_column(Text)
    suggested_policies_json: Mapped[str | None] = mapped_column(Text)
    official_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    batch: Mapped[ImportBatch | None] = relationship()
    official: Mapped[User | None] = relationship(foreign_keys=[official_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    @property
    def attachments(self) -> list[dict]:
        return json.loads(self.attachments_json) if self.attachments_json else []

    @property
    def problems(self) -> list[str]:
        return json.loads(self.problems_json) if self.problems_json else []

    @property
    def suggested_jurisdiction_ids(self) -> list[int]:
        return json.loads(self.suggested_jurisdictions_json or "[]")

    @property
    def suggested_policy_ids(self) -> list[int]:
        return json.loads(self.suggested_policies_json or "[]")
