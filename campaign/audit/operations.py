"""Writing audit entries. Operations call `record` explicitly, in the same transaction as the
change itself, so a change and its audit entry are committed or rolled back together."""

from __future__ import annotations

import enum
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload

from campaign.audit.models import AuditEntry
from campaign.extensions import db
from campaign.timeutil import utcnow


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value differs."""
    return {
        name: [_plain(before.get(name)), _plain(after.get(name))]
        for name in after
        if _plain(before.get(name)) != _plain(after.get(name))
    }


def record(
    actor,
    action: str,
    subject,
    summary: str,
    changes: dict[str, list] | None = None,
) -> AuditEntry:
    """Add an entry for `subject` (a model instance with an id); flushed with the change."""
    if subject.id is None:
        db.session.flush()
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        action=action,
        subject_type=subject.__tablename__,
        subject_id=subject.id,
        summary=summary[:300],
        changes=json.dumps(changes, ensure_ascii=False, sort_keys=True) if changes else None,
    )
    db.session.add(entry)
    return entry


def record_many(actor, entries: list[tuple[str, Any, str, dict[str, list] | None]]) -> None:
    """`record` for thousands of flushed subjects at once (imports): one batched INSERT."""
    if not entries:
        return
    now = utcnow()
    db.session.execute(
        insert(AuditEntry),
        [
            {
                "occurred_at": now,
                "actor_id": getattr(actor, "id", None),
                "action": action,
                "subject_type": subject.__tablename__,
                "subject_id": subject.id,
                "summary": summary[:300],
                "changes": json.dumps(changes, ensure_ascii=False, sort_keys=True)
                if changes
                else None,
            }
            for action, subject, summary, changes in entries
        ],
    )


def entries_for(subject_type: str, subject_id: int, limit: int = 200) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.subject_type == subject_type, AuditEntry.subject_id == subject_id)
        .options(joinedload(AuditEntry.actor))
        .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def record_export(actor, export: str, subject, *, filters: dict[str, Any], rows: int) -> AuditEntry:
    """A staff download of contact details: who (the actor), when (the entry's time), which
    export and with which filter, so a leak of a list can be traced to the download.

    `subject` is the record exported (an import batch), or the actor when the export is a
    listing. Empty filter values are left out; none at all reads "no filter".
    """
    used = {name: value for name, value in filters.items() if value not in (None, "")}
    described = ", ".join(f"{name}={value}" for name, value in used.items()) or "no filter"
    return record(
        actor,
        f"export.{export}",
        subject,
        f"Exported {export.replace('_', ' ')}: {rows} {'row' if rows == 1 else 'rows'}, "
        f"{described}",
        {"filter": [None, used], "rows": [None, rows]},
    )
