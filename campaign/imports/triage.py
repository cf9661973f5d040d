"""The helpdesk mailbox as a triage queue.

Importing turns each message into a `MailMessage` with suggestions (the official by sender
address, places named in the text, policies by name or key term); nothing else is created
until staff accept a thread. A message is known by its Message-ID (or, without one, by a hash
of its bytes), so importing the same mailbox twice adds nothing. Threads are rebuilt from
Message-ID / In-Reply-To / References after every import, so a reply imported before the
message it answers still lands in the same thread.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update

from campaign.accounts.models import AccountOrigin, User, normalize_email
from campaign.accounts.operations import AccountError, find_user_by_email, official_for
from campaign.accounts.roles import is_official_account
from campaign.audit.operations import record
from campaign.catalog.models import Policy
from campaign.commitments.models import Commitment, Visibility
from campaign.commitments.operations import (
    CommitmentError,
    Reported,
    Source,
    record_on_behalf,
)
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.matching import PolicyMatcher, jurisdictions_mentioned
from campaign.imports.models import (
    ImportBatch,
    ImportKind,
    ImportStatus,
    MailMessage,
    TriageStatus,
)
from campaign.places.models import Jurisdiction
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.imports.mailparse import ParsedMessage

FLUSH_EVERY = 200


class TriageError(ValueError):
    """A decision the rules refuse; the message is for the staff member."""


@dataclass
class MailboxReport:
    added: int = 0
    already_imported: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    with_problems: list[tuple[str, list[str]]] = field(default_factory=list)

    def as_json(self) -> str:
        return json.dumps(
            {
                "added": self.added,
                "already_imported": self.already_imported,
                "rejected": self.rejected,
                "with_problems": self.with_problems,
            },
            ensure_ascii=False,
        )


def message_key(message_id: str) -> str:
    return hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).hexdigest()


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, or of a folder's files in name order."""
    digest = hashlib.sha256()
    size = 0
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        with file.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
    return digest.hexdigest(), size


def import_mailbox(
    path: Path, actor: User | None, display_name: str | None = None
) -> tuple[ImportBatch, MailboxReport]:
    """Add every message not seen before as a triage item; flushes, the caller commits."""
    from campaign.imports.mailparse import Rejected, read_mail  # parsers load only when used

    display_name = display_name or path.name
    sha256, size = file_digest(path)
    batch = ImportBatch(
        kind=ImportKind.MAILBOX,
        status=ImportStatus.APPLIED,
        filename=display_name[:255],
        sha256=sha256,
        size=size,
        uploaded_by=actor,
        applied_at=utcnow(),
    )
    db.session.add(batch)
    db.session.flush()
    report = MailboxReport()
    known = set(db.session.scalars(select(MailMessage.message_key)))
    policies = PolicyMatcher()
    pending = 0
    for item in read_mail(path, display_name):
        if isinstance(item, Rejected):
            report.rejected.append((item.source, item.reason))
            continue
        key = message_key(item.message_id)
        if key in known:
            report.already_imported += 1
            continue
        known.add(key)
        db.session.add(_triage_item(item, key, batch, policies))
        report.added += 1
        if item.problems:
            report.with_problems.append((item.source, list(item.problems)))
        pending += 1
        if pending >= FLUSH_EVERY:
            db.session.flush()
            pending = 0
    db.session.flush()
    rethread()
    batch.summary_json = report.as_json()
    record(
        actor,
        "import.mailbox",
        batch,
        f"Mailbox {display_name}: {report.added} new messages, {report.already_imported} "
        f"already imported, {len(report.rejected)} not readable",
    )
    db.session.flush()
    return batch, report


def _clean(text: str | None, limit: int | None = None) -> str:
    text = (text or "").replace("\x00", "")
    return text[:limit] if limit else text


def _triage_item(
    item: ParsedMessage, key: str, batch: ImportBatch, policies: PolicyMatcher
) -> MailMessage:
    text = f"{item.subject}\n{item.body}"
    places = jurisdictions_mentioned(text)
    return MailMessage(
        message_key=key,
        message_id=_clean(item.message_id),
        thread_key=key,  # until rethread() finds its thread
        in_reply_to=_clean(item.in_reply_to) or None,
        references_json=json.dumps([_clean(r) for r in item.references]) or None,
        sender_name=_clean(item.sender_name, 200),
        sender_email=_clean(item.sender_email, 254) or None,
        sent_at=item.sent_at.replace(tzinfo=None) if item.sent_at else None,
        subject=_clean(item.subject, 500),
        body=_clean(item.body),
        attachments_json=json.dumps(
            [
                {"filename": a.filename, "content_type": a.content_type, "size": a.size}
                for a in item.attachments
            ],
            ensure_ascii=False,
        ),
        problems_json=json.dumps(list(item.problems), ensure_ascii=False),
        source=_clean(item.source, 500),
        raw_sha256=item.raw_sha256,
        raw_size=item.raw_size,
        batch=batch,
        status=TriageStatus.NEW,
        suggested_jurisdictions_json=json.dumps([j.id for j in places]),
        suggested_policies_json=json.dumps([p.id for p in policies.mentioned_in(text)]),
    )


@dataclass(frozen=True)
class _StoredLinks:
    """A stored message as mailparse.thread_keys reads it."""

    message_id: str
    in_reply_to: str | None
    references: list[str]
    sent_at: datetime | None


def rethread() -> int:
    """Regroup every stored message into threads; returns how many rows changed thread.

    Threads are worked out by mailparse.thread_keys over all stored messages, not just the
    new ones, so a reply imported before the message it answers joins it once that arrives.
    """
    from campaign.imports.mailparse import thread_keys  # with the parsers, loaded when used

    rows = db.session.execute(
        select(
            MailMessage.id,
            MailMessage.message_id,
            MailMessage.in_reply_to,
            MailMessage.references_json,
            MailMessage.sent_at,
            MailMessage.thread_key,
        )
    ).all()
    keys = thread_keys(
        _StoredLinks(
            message_id,
            in_reply_to,
            json.loads(references_json) if references_json else [],
            sent_at.replace(tzinfo=UTC) if sent_at else None,
        )
        for _id, message_id, in_reply_to, references_json, sent_at, _key in rows
    )
    changed = 0
    for row_id, message_id, _irt, _refs, _sent, key in rows:
        wanted = message_key(keys[message_id])
        if wanted != key:
            db.session.execute(
                update(MailMessage).where(MailMessage.id == row_id).values(thread_key=wanted)
            )
            changed += 1
    return changed


# --- Reading the queue ---------------------------------------------------------------------


@dataclass
class Thread:
    key: str
    messages: list[MailMessage]

    @property
    def first(self) -> MailMessage:
        return self.messages[0]

    @property
    def status(self) -> TriageStatus:
        statuses = {m.status for m in self.messages}
        # A reply still to read keeps the thread in the queue; an acceptance outranks a
        # later "not a commitment" (a thank-you reply, say), which must never hide it.
        for status in (TriageStatus.NEW, TriageStatus.ACCEPTED):
            if status in statuses:
                return status
        return TriageStatus.NOT_COMMITMENT

    @property
    def senders(self) -> list[str]:
        seen: dict[str, str] = {}
        for m in self.messages:
            seen.setdefault(m.sender_email or m.sender_name or "unknown sender", m.sender_name)
        return [name or address for address, name in seen.items()]


def _ordered(stmt):
    return stmt.order_by(MailMessage.sent_at.is_(None), MailMessage.sent_at, MailMessage.id)


def thread_of(message: MailMessage) -> Thread:
    stmt = _ordered(select(MailMessage).where(MailMessage.thread_key == message.thread_key))
    return Thread(message.thread_key, list(db.session.scalars(stmt)))


def queue_threads(status: TriageStatus, page: int, per_page: int = 50) -> tuple[list[Thread], int]:
    """Threads with at least one message in `status`, oldest first, and how many there are."""
    keys = (
        select(MailMessage.thread_key, func.min(MailMessage.id).label("first_id"))
        .where(MailMessage.status == status)
        .group_by(MailMessage.thread_key)
    )
    total = db.session.scalar(select(func.count()).select_from(keys.subquery())) or 0
    page_keys = [
        key
        for key, _first in db.session.execute(
            keys.order_by(func.min(MailMessage.id)).limit(per_page).offset((page - 1) * per_page)
        )
    ]
    if not page_keys:
        return [], total
    messages = db.session.scalars(
        _ordered(select(MailMessage).where(MailMessage.thread_key.in_(page_keys)))
    )
    grouped: dict[str, list[MailMessage]] = {key: [] for key in page_keys}
    for message in messages:
        grouped[message.thread_key].append(message)
    return [Thread(key, grouped[key]) for key in page_keys], total


@dataclass
class Suggestions:
    official: User | None
    email: str
    name: str
    jurisdictions: list[Jurisdiction]
    policies: list[Policy]
    sent_on: date | None


def suggestions_for(thread: Thread) -> Suggestions:
    """The app's best reading of a thread: who wrote, from where, about which policies.

    The official is whoever, among the thread's senders, has an official's account (else the
    first sender); their own jurisdiction comes first among the places.
    """
    officials = []
    for m in thread.messages:
        if m.sender_email:
            user = find_user_by_email(m.sender_email)
            if is_official_account(user):
                officials.append(user)
    official = officials[0] if officials else None
    first_sender = next((m for m in thread.messages if m.sender_email), thread.first)
    place_ids: list[int] = []
    if official and official.jurisdiction_id:
        place_ids.append(official.jurisdiction_id)
    policy_ids: list[int] = []
    for m in thread.messages:
        place_ids += [i for i in m.suggested_jurisdiction_ids if i not in place_ids]
        policy_ids += [i for i in m.suggested_policy_ids if i not in policy_ids]
    places = [db.session.get(Jurisdiction, i) for i in place_ids]
    policies = [db.session.get(Policy, i) for i in policy_ids]
    return Suggestions(
        official=official,
        email=official.email if official else (first_sender.sender_email or ""),
        name=official.name if official else first_sender.sender_name,
        jurisdictions=[j for j in places if j is not None],
        policies=[p for p in policies if p is not None],
        sent_on=first_sender.sent_at.date() if first_sender.sent_at else None,
    )


# --- Decisions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptance:
    email: str
    name: str
    office_title: str | None
    jurisdiction: Jurisdiction
    policies: list[Policy]
    stage: Stage
    occurred_on: date
    visibility: Visibility
    note: str | None


@dataclass
class Accepted:
    official: User
    recorded: list[Commitment]
    unchanged: list[Policy]  # already at that stage, or further along


def accept_thread(thread: Thread, decision: Acceptance, actor: User) -> Accepted:
    """Create (or move on) the official's commitments, each entry linked to the email.

    Policies already at that stage (or further along) are left as they are and returned as
    `unchanged`, so accepting the same news twice records it once, and staff are told.
    """
    if not decision.policies:
        raise TriageError("Choose at least one policy, or mark the thread as not a commitment.")
    _take_new_messages(thread, TriageStatus.ACCEPTED, actor)
    try:
        official = official_for(
            email=decision.email,
            name=decision.name,
            office_title=decision.office_title,
            jurisdiction=decision.jurisdiction,
            origin=AccountOrigin.MAILBOX,
            actor=actor,
        )
    except AccountError as error:
        if error.field == "name":
            raise TriageError(
                "Enter the official's name: there is no account for this email."
            ) from error
        raise TriageError(str(error)) from error
    linked = _message_to_link(thread, official)
    source = Source(mail_message_id=linked.id)
    reported = Reported(
        stage=decision.stage,
        on=decision.occurred_on,
        visibility=decision.visibility,
        note=decision.note,
    )
    touched: list[Commitment] = []
    unchanged: list[Policy] = []
    for policy in decision.policies:
        try:
            done = record_on_behalf(official, policy, reported, recorded_by=actor, source=source)
        except CommitmentError as error:
            raise TriageError(f"{policy.short_title}: {error}") from error
        if done.decision.writes:
            touched.append(done.commitment)
        else:
            unchanged.append(policy)
    for message in thread.messages:
        if message.status == TriageStatus.ACCEPTED and message.decided_by_id == actor.id:
            message.official = official
    record(
        actor,
        "mail.accepted",
        linked,
        f"Email “{linked.subject[:120]}” accepted for {official.name}: "
        + ", ".join(c.policy.short_title for c in touched),
    )
    db.session.flush()
    return Accepted(official, touched, unchanged)


def _take_new_messages(
    thread: Thread, status: TriageStatus, actor: User, note: str | None = None
) -> None:
    """Decide the thread's untriaged messages, or refuse if someone else just did.

    One conditional UPDATE: of two staff (or two clicks) deciding at once, the second waits
    for the first's transaction and then finds nothing left to decide.
    """
    ids = [m.id for m in thread.messages if m.status == TriageStatus.NEW]
    taken = (
        db.session.execute(
            update(MailMessage)
            .where(MailMessage.id.in_(ids), MailMessage.status == TriageStatus.NEW)
            .values(
                status=status,
                decided_by_id=actor.id,
                decided_at=utcnow(),
                decision_note=note or None,
            )
            .execution_options(synchronize_session="fetch")
        ).rowcount
        if ids
        else 0
    )
    if taken == 0 or taken != len(ids):
        raise TriageError("This thread has already been triaged.")


def _message_to_link(thread: Thread, official: User) -> MailMessage:
    """The official's own first message in the thread, else the thread's first message."""
    address = normalize_email(official.email)
    for message in thread.messages:
        if message.sender_email and normalize_email(message.sender_email) == address:
            return message
    return thread.first


def dismiss_thread(thread: Thread, reason: str | None, actor: User) -> None:
    _take_new_messages(thread, TriageStatus.NOT_COMMITMENT, actor, reason)
    record(
        actor,
        "mail.dismissed",
        thread.first,
        f"Email “{thread.first.subject[:120]}” marked not a commitment"
        + (f": {reason}" if reason else ""),
    )
    db.session.flush()


def reopen_thread(thread: Thread, actor: User) -> None:
    """Undo "not a commitment" (accepted threads have records; those are changed elsewhere)."""
    if thread.status != TriageStatus.NOT_COMMITMENT:
        raise TriageError("Only a thread marked “not a commitment” can be reopened.")
    for message in thread.messages:
        if message.status != TriageStatus.NOT_COMMITMENT:
            continue
        message.status = TriageStatus.NEW
        message.decided_by = None
        message.decided_at = None
        message.decision_note = None
    record(actor, "mail.reopened", thread.first, f"Email “{thread.first.subject[:120]}” reopened")
    db.session.flush()
