"""Reminder emails, meant for cron: `flask --app wsgi send-reminders`.

Officials whose open commitments have not moved for REMINDER_AFTER_DAYS get a link to update
them; each staff member gets a digest of their queue. Nobody gets the same kind of reminder
twice within REMINDER_WINDOW_DAYS, however often cron runs: each send is recorded (and
committed) before the message goes out, so a crash can lose a reminder but never repeat one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import exists, select
from sqlalchemy.orm import joinedload

from campaign.accounts.models import User
from campaign.accounts.roles import staff_condition
from campaign.commitments.models import Commitment
from campaign.commitments.visibility import open_condition
from campaign.extensions import db
from campaign.followup.models import SentReminder
from campaign.followup.queue import QueueFilter, follow_up_queue
from campaign.mail import MailError, public_link, send_mail

Save = Callable[[], None]  # ends the transaction: the caller decides how (see send_reminders)

OFFICIAL_KIND = "official_update"
DIGEST_KIND = "staff_digest"


@dataclass
class ReminderRun:
    officials: list[str] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[str] = field(default_factory=list)


def _recently_reminded(user_id: int, kind: str, today: date) -> bool:
    window = current_app.config.get("REMINDER_WINDOW_DAYS", 14)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    SentReminder.user_id == user_id,
                    SentReminder.kind == kind,
                    SentReminder.sent_on > today - timedelta(days=window),
                )
            )
        )
    )


def _deliver(
    user: User, kind: str, subject: str, body: str, ids: list[int], today: date, save: Save
) -> bool:
    sent = SentReminder(
        user_id=user.id,
        kind=kind,
        sent_on=today,
        subject=subject,
        commitment_ids=",".join(map(str, ids)),
    )
    address = user.email  # read now: after the commit it would be a query, and a
    # transaction held open while SMTP answers would keep the app's writers waiting.
    db.session.add(sent)
    save()
    try:
        send_mail(address, subject, body)
    except MailError:
        db.session.delete(sent)
        save()
        current_app.logger.warning("Reminder to user %s failed; it will be retried", user.id)
        return False
    return True


def send_reminders(today: date, *, save: Save) -> ReminderRun:
    """Mail each quiet official a reminder and each staff member their queue's digest.

    Each reminder is recorded before its email goes out (so a crash never sends it twice)
    and forgotten if the mail server refuses it; `save` ends the transaction at both points
    (the command passes `db.session.commit`), so no lock is held while SMTP answers."""
    run = ReminderRun()
    after = current_app.config.get("REMINDER_AFTER_DAYS", 30)
    quiet = list(
        db.session.scalars(
            select(Commitment)
            .join(User, User.id == Commitment.official_id)
            .where(
                open_condition(),
                Commitment.stage_changed_on <= today - timedelta(days=after),
                User.active.is_(True),
            )
            .options(joinedload(Commitment.policy), joinedload(Commitment.official))
            .order_by(Commitment.official_id, Commitment.id)
        )
    )
    by_official: dict[int, list[Commitment]] = {}
    for commitment in quiet:
        by_official.setdefault(commitment.official_id, []).append(commitment)
    link = public_link("commitments.mine")
    for commitments in by_official.values():
        official = commitments[0].official
        if _recently_reminded(official.id, OFFICIAL_KIND, today):
            run.skipped += 1
            continue
        lines = "\n".join(
            f"- {c.policy.short_title}: {c.stage.label.lower()} since {c.stage_changed_on}"
            for c in commitments
        )
        body = (
            f"Hello {official.name},\n\nThese commitments have had no update for a while:\n\n"
            f"{lines}\n\nIf anything moved (introduced, passed, in force, or stalled), "
            f"please record it here: {link}\n\nIf you need help, reply on the site and "
            "campaign staff will pick it up.\n"
        )
        ok = _deliver(
            official,
            OFFICIAL_KIND,
            "How are your commitments going?",
            body,
            [c.id for c in commitments],
            today,
            save,
        )
        (run.officials if ok else run.failed).append(official.email)

    staff_members = db.session.scalars(
        select(User).where(staff_condition(User.role), User.active.is_(True))
    )
    queue_link = public_link("followup.queue")
    for member in staff_members:
        page = follow_up_queue(today, QueueFilter(owner=str(member.id)), per_page=20)
        if not page.total:
            continue
        if _recently_reminded(member.id, DIGEST_KIND, today):
            run.skipped += 1
            continue
        lines = "\n".join(
            f"- {i.reason.label}: {i.official_name} ({i.jurisdiction_label}), {i.policy_title}"
            for i in page.items
        )
        body = (
            f"Hello {member.name},\n\n{page.total} of your follow-ups need attention:\n\n"
            f"{lines}\n\nYour queue: {queue_link}\n"
        )
        ok = _deliver(
            member,
            DIGEST_KIND,
            f"Your follow-up queue: {page.total} to do",
            body,
            [i.commitment_id for i in page.items],
            today,
            save,
        )
        (run.staff if ok else run.failed).append(member.email)
    return run
