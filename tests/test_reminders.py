"""`flask send-reminders`: officials with quiet commitments, staff digests, never twice."""

from datetime import date, timedelta

from sqlalchemy import func, select

from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.followup.models import SentReminder
from campaign.followup.operations import assign

TODAY = date(2026, 6, 1)


def run(runner, on=TODAY):
    return runner.invoke(args=["send-reminders", "--date", on.isoformat()])


def test_reminders_reach_quiet_officials_and_staff_once_per_window(
    app, runner, make, catalog, mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://commit.example.org")
    quiet = make.user(name="Quiet Quinn", email="quinn@example.org")
    make.commitment(quiet, catalog[0], pledged_on=TODAY - timedelta(days=45))
    make.commitment(quiet, catalog[1], stage=Stage.IMPLEMENTED, pledged_on=date(2026, 1, 1))
    busy = make.user(email="busy@example.org")
    make.commitment(busy, catalog[0], pledged_on=TODAY - timedelta(days=3))
    staff = make.user(Role.STAFF, name="Sam Staff", email="staff@example.org")
    make.user(Role.STAFF, email="idle@example.org")  # nothing in their queue: no digest
    assign(list(db.session.scalars(select(Commitment))), staff, staff)
    db.session.commit()

    first = run(runner)
    assert first.exit_code == 0, first.output
    assert "1 officials, 1 staff digests sent" in first.output
    by_recipient = {m["To"]: m for m in mailbox.messages}
    assert set(by_recipient) == {"quinn@example.org", "staff@example.org"}
    official_text = by_recipient["quinn@example.org"].get_content()
    assert "Cancel ALPR contracts" in official_text
    assert "Robust sanctuary" not in official_text  # implemented: nothing to chase
    assert "https://commit.example.org/commitments/" in official_text
    digest = by_recipient["staff@example.org"].get_content()
    assert "Quiet Quinn" in digest and "https://commit.example.org/staff/queue" in digest

    mailbox.clear()
    second = run(runner, TODAY + timedelta(days=3))
    assert "0 officials, 0 staff digests sent; 2 skipped" in second.output
    assert mailbox.messages == []
    assert db.session.scalar(select(func.count(SentReminder.id))) == 2

    third = run(runner, TODAY + timedelta(days=15))
    assert "1 officials, 1 staff digests sent" in third.output


def test_a_failed_send_is_not_recorded_and_is_retried_next_run(
    app, runner, make, catalog, monkeypatch
):
    from tests.mailbox import free_port

    official = make.user(email="quinn@example.org")
    make.commitment(official, catalog[0], pledged_on=TODAY - timedelta(days=60))
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nobody listens there
    result = run(runner)
    assert result.exit_code == 1
    assert "1 failed" in result.output
    assert db.session.scalar(select(func.count(SentReminder.id))) == 0
