"""The import commands staff run at a terminal, and inviting one official from the directory."""

from __future__ import annotations

import mailbox as stdlib_mailbox
import re

import pytest
from sqlalchemy import func, select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.imports.models import MailMessage
from tests.test_import_mailbox import day, message
from tests.test_import_spreadsheet import MESSY_ROWS, csv_bytes, places  # noqa: F401 (fixture)


@pytest.mark.usefixtures("places")
def test_import_commitments_is_a_dry_run_until_told_to_commit(runner, make, catalog, tmp_path):
    sheet = tmp_path / "history.csv"
    sheet.write_bytes(csv_bytes(MESSY_ROWS))
    result = runner.invoke(args=["import-commitments", str(sheet)])
    assert result.exit_code == 0, result.output
    assert "email          ← E-mail" in result.output
    assert (
        "row 7: Cannot be imported: “ed at example” is not a valid email address." in result.output
    )
    assert "row 5: Needs a choice" in result.output
    assert "Nothing was written" in result.output
    assert db.session.scalar(select(func.count(Commitment.id))) == 0

    refused = runner.invoke(args=["import-commitments", str(sheet), "--commit"])
    assert refused.exit_code != 0
    assert "--by" in refused.output

    staff = make.user(Role.STAFF, email="staff@campaign.example")
    done = runner.invoke(args=["import-commitments", str(sheet), "--commit", "--by", staff.email])
    assert done.exit_code == 0, done.output
    assert "5 created, 0 updated, 1 already present, 5 not imported" in done.output
    assert db.session.scalar(select(func.count(Commitment.id))) == 5
    again = runner.invoke(args=["import-commitments", str(sheet), "--commit", "--by", staff.email])
    assert "0 created, 0 updated, 6 already present" in again.output


@pytest.mark.usefixtures("places")
def test_import_commitments_asks_once_what_to_do_with_undated_rows(runner, make, catalog, tmp_path):
    from campaign.commitments.models import TimelineEntry
    from campaign.timeutil import today

    staff = make.user(Role.STAFF, email="staff@campaign.example")
    undated = [*MESSY_ROWS[1][:8], "", "", "", ""]
    sheet = tmp_path / "history.csv"
    sheet.write_bytes(csv_bytes([undated]))
    asked = runner.invoke(args=["import-commitments", str(sheet)])
    assert "row 2: Needs a choice: No date: choose whether rows without a date" in asked.output
    done = runner.invoke(
        args=["import-commitments", str(sheet), "--undated", "estimate", "--commit", "--by",
              staff.email]
    )  # fmt: skip
    assert "1 created" in done.output, done.output
    entry = db.session.scalar(select(TimelineEntry))
    assert entry.occurred_on == today() and entry.date_estimated


def test_import_commitments_column_override_and_unreadable_files(runner, tmp_path):
    sheet = tmp_path / "history.csv"
    sheet.write_bytes(csv_bytes(MESSY_ROWS, headers=["A", "B", "C", "D", "E", "F", "G", "H",
                                                     "I", "J", "K", "L"]))  # fmt: skip
    result = runner.invoke(args=["import-commitments", str(sheet)])
    assert result.exit_code != 0
    assert "Choose the column that holds the official's email" in result.output
    result = runner.invoke(args=["import-commitments", str(sheet), "--map", "nonsense=A"])
    assert "fields are official_name, email" in result.output
    picture = tmp_path / "photo.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    result = runner.invoke(args=["import-commitments", str(picture)])
    assert result.exit_code != 0
    assert "is not a CSV or XLSX spreadsheet" in result.output


def test_import_mailbox_command_reports_and_is_idempotent(runner, catalog, tmp_path):
    box = stdlib_mailbox.mbox(tmp_path / "helpdesk.mbox")
    box.add(message("Ana <ana@x.example>", "hi", "hello", msgid="o@x.example", when=day(3)))
    box.close()
    first = runner.invoke(args=["import-mailbox", str(tmp_path / "helpdesk.mbox")])
    assert first.exit_code == 0, first.output
    assert "1 new messages to triage, 0 already imported, 0 not readable" in first.output
    second = runner.invoke(args=["import-mailbox", str(tmp_path / "helpdesk.mbox")])
    assert "0 new messages to triage, 1 already imported" in second.output
    assert db.session.scalar(select(func.count(MailMessage.id))) == 1


def test_staff_invite_an_unclaimed_official_from_the_directory(client, auth, make, mailbox):
    official = make.user(email="quiet@town.example", name="Quinn Quiet")
    official.password_hash = None
    db.session.commit()
    organizer = make.user(Role.ORGANIZER)
    auth.login(organizer.email)
    assert client.post(f"/directory/{official.id}/invite").status_code == 403
    auth.logout()
    auth.login(make.user(Role.STAFF).email)
    page = client.get(f"/directory/{official.id}").get_data(as_text=True)
    assert "Email an invitation to claim it" in page
    response = client.post(f"/directory/{official.id}/invite", follow_redirects=True)
    assert "Invitation sent to quiet@town.example" in response.get_data(as_text=True)
    (sent,) = mailbox.messages
    assert re.search(r"/password/claim/\S+", sent.get_content())
    official.password_hash = "claimed"
    db.session.commit()
    response = client.post(f"/directory/{official.id}/invite", follow_redirects=True)
    assert "already claimed" in response.get_data(as_text=True)
    assert len(mailbox.messages) == 1
    assert db.session.get(User, official.id).email == "quiet@town.example"


def test_an_invitation_dies_when_the_account_is_made_staff(client, make):
    from campaign.accounts.invitations import make_invitation_token

    official = make.user(email="later.staff@town.example")
    official.password_hash = None
    db.session.commit()
    link = f"/password/claim/{make_invitation_token(official)}"
    assert client.get(link).status_code == 200
    official.role = Role.STAFF
    db.session.commit()
    assert client.get(link).status_code == 410
    data = {"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    assert client.post(link, data=data).status_code == 410
    assert db.session.get(User, official.id).password_hash is None


def test_a_made_up_remember_cookie_does_not_raise_the_upload_limit(app):
    from campaign.security import has_signed_in_cookie

    with app.test_request_context(headers={"Cookie": "remember_token=garbage"}):
        assert not has_signed_in_cookie()
