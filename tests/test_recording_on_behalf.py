"""Staff record for officials by sheet, by email and by hand with one recipe and one rule.

Each test puts the same news through two ways in and expects the same outcome: what the
official's own form refuses, a sheet refuses; what a sheet leaves alone, an email leaves alone.
"""

from __future__ import annotations

import mailbox as stdlib_mailbox
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.models import MailMessage
from campaign.imports.sheets import Action, apply_plan
from campaign.imports.triage import (
    Acceptance,
    TriageError,
    accept_thread,
    import_mailbox,
    thread_of,
)
from campaign.places.models import JurisdictionKind
from campaign.timeutil import today
from tests.conftest import form_errors
from tests.test_import_mailbox import message
from tests.test_import_spreadsheet import csv_bytes, new_batch, plan_for

HEADERS = ["Name", "Email", "City", "State", "Policy", "Status", "Date Pledged",
           "Status date", "Target date"]  # fmt: skip


@pytest.fixture
def bay(make):
    return make.jurisdiction("Bay County", "FL", JurisdictionKind.COUNTY, key="12005")


def row(email="bo@bay.example", stage="pledged", pledged="2025-01-10", stage_on="", target=""):
    return ["Bo Lee", email, "Bay County", "FL", "Cancel ALPR contracts", stage, pledged,
            stage_on, target]  # fmt: skip


def commitments() -> int:
    return db.session.scalar(select(func.count(Commitment.id)))


def an_email(tmp_path, staff, sender="Bo Lee <bo@bay.example>"):
    """One helpdesk email in the triage queue; returns its thread."""
    box = stdlib_mailbox.mbox(tmp_path / "box.mbox")
    box.add(message(sender, "ALPR", "Bay County will cancel its ALPR contract.",
                    msgid="m1@bay.example", when=datetime(2025, 3, 5, tzinfo=UTC)))  # fmt: skip
    box.close()
    import_mailbox(tmp_path / "box.mbox", staff)
    db.session.commit()
    return thread_of(db.session.scalar(select(MailMessage)))


def acceptance(bay, policy, stage=Stage.PLEDGED, on=date(2025, 3, 5), email="bo@bay.example"):
    return Acceptance(email, "Bo Lee", None, bay, [policy], stage, on, Visibility.COUNTED, None)


def test_a_sheet_refuses_a_past_target_date_as_the_officials_form_does(
    client, auth, make, catalog, bay, runner, tmp_path
):
    past = (today() - timedelta(days=30)).isoformat()
    soon = (today() + timedelta(days=30)).isoformat()
    plan = plan_for(csv_bytes([row(target=past), row("cy@bay.example", target=soon)], HEADERS))
    refused, kept = plan.rows
    assert refused.action == Action.FAIL
    assert refused.reason == (
        f"The target date {past} cannot be used: enter today's date or a later one."
    )
    assert kept.action == Action.CREATE and kept.target_date.isoformat() == soon

    sheet = tmp_path / "history.csv"
    sheet.write_bytes(csv_bytes([row(target=past)], HEADERS))
    dry_run = runner.invoke(args=["import-commitments", str(sheet)])
    assert f"row 2: Cannot be imported: The target date {past} cannot be used" in dry_run.output

    make.user(email="ana@example.org")
    auth.login("ana@example.org")
    policy = catalog[0]
    response = client.post(
        "/commitments/new",
        data={f"commit_{policy.id}": "y", f"visibility_{policy.id}": "public",
              f"target_{policy.id}": past},
    )  # fmt: skip
    assert response.status_code == 422
    assert "Enter today's date or a later one." in form_errors(response)
    assert commitments() == 0


def test_an_email_for_a_deactivated_official_records_nothing_as_a_sheet_row_would(
    make, catalog, bay, tmp_path
):
    staff = make.user(Role.STAFF)
    gone = make.user(email="bo@bay.example", name="Bo Lee", jurisdiction=bay)
    gone.active = False
    db.session.commit()
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")

    (planned,) = plan_for(csv_bytes([row()], HEADERS)).rows
    assert planned.action == Action.FAIL
    assert "deactivated" in planned.reason
    with pytest.raises(TriageError, match="deactivated"):
        accept_thread(an_email(tmp_path, staff), acceptance(bay, alpr), staff)
    db.session.rollback()
    assert commitments() == 0


def test_older_news_in_an_email_changes_nothing_as_in_a_sheet(make, catalog, bay, tmp_path):
    staff = make.user(Role.STAFF)
    sheet = csv_bytes([row(stage="introduced", stage_on="2025-03-10")], HEADERS)
    apply_plan(new_batch(sheet, staff), staff)
    db.session.commit()
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    entries = db.session.scalar(select(func.count(TimelineEntry.id)))

    (planned,) = plan_for(csv_bytes([row(stage="passed", stage_on="2025-03-01")], HEADERS)).rows
    assert planned.action == Action.SKIP
    assert planned.reason == "The app already has a later update: introduced on 2025-03-10."
    accepted = accept_thread(
        an_email(tmp_path, staff), acceptance(bay, alpr, Stage.PASSED, date(2025, 3, 1)), staff
    )
    db.session.commit()
    assert accepted.recorded == [] and accepted.unchanged == [alpr]
    assert db.session.scalar(select(Commitment.stage)) == Stage.INTRODUCED
    assert db.session.scalar(select(func.count(TimelineEntry.id))) == entries


def test_an_official_of_another_place_is_refused_with_the_same_reason_by_sheet_and_email(
    make, catalog, bay, tmp_path
):
    staff = make.user(Role.STAFF)
    elsewhere = make.jurisdiction("Saint Paul", "MN", key="gn5045360")
    make.user(email="bo@bay.example", name="Bo Lee", jurisdiction=elsewhere)
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    reason = (
        "Bo Lee serves Saint Paul, MN in the app, not Bay County, FL: correct the "
        "jurisdiction, or the official's account first."
    )
    (planned,) = plan_for(csv_bytes([row()], HEADERS)).rows
    assert planned.reason == reason
    with pytest.raises(TriageError) as refused:
        accept_thread(an_email(tmp_path, staff), acceptance(bay, alpr), staff)
    assert str(refused.value) == reason
    db.session.rollback()
    assert commitments() == 0


def test_the_note_goes_with_the_reported_stage_whichever_way_it_came(make, catalog, bay, tmp_path):
    staff = make.user(Role.STAFF)
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    decision = Acceptance("bo@bay.example", "Bo Lee", None, bay, [alpr], Stage.PASSED,
                          date(2025, 3, 5), Visibility.COUNTED, "Voted 5-2")  # fmt: skip
    accept_thread(an_email(tmp_path, staff), decision, staff)
    sheet_row = [*row("cy@bay.example", "passed", "2025-03-05", "2025-03-05"), "Voted 5-2"]
    apply_plan(new_batch(csv_bytes([sheet_row], [*HEADERS, "Notes"]), staff), staff)
    db.session.commit()
    for commitment in db.session.scalars(select(Commitment)):
        entries = db.session.scalars(commitment.timeline.select()).all()
        assert [(e.stage, e.note) for e in entries] == [
            (Stage.PLEDGED, None),
            (Stage.PASSED, "Voted 5-2"),
        ]
        assert commitment.official.verified_at is not None  # staff vouched for them


def test_staff_record_a_phone_report_by_the_same_rules(client, auth, make, catalog, bay):
    staff = make.user(Role.STAFF)
    bo = make.user(email="bo@bay.example", name="Bo Lee", jurisdiction=bay)
    auth.login(staff.email)
    page = client.get(f"/directory/{bo.id}").get_data(as_text=True)
    assert "Record what Bo Lee reported by phone" in page
    form = {"policy": "cancel-alpr-contracts", "stage": "introduced",
            "occurred_on": "2025-03-10", "visibility": "counted", "note": "Called us"}  # fmt: skip

    response = client.post(f"/directory/{bo.id}/by-phone", data=form)
    assert response.status_code == 302
    commitment = db.session.scalar(select(Commitment))
    assert commitment.stage == Stage.INTRODUCED and commitment.official == bo
    entries = db.session.scalars(commitment.timeline.select()).all()
    assert [(e.stage, e.note, e.recorded_by) for e in entries] == [
        (Stage.PLEDGED, None, staff),
        (Stage.INTRODUCED, "Called us", staff),
    ]
    assert "introduced" in client.get(f"/directory/{bo.id}").get_data(as_text=True)

    # Older news changes nothing, as a sheet row or an email would not.
    older = client.post(
        f"/directory/{bo.id}/by-phone",
        data={**form, "stage": "passed", "occurred_on": "2025-03-01"},
    )
    assert older.status_code == 302
    followed = client.get(f"/directory/{bo.id}").get_data(as_text=True)
    assert "Nothing changed: The app already has a later update: introduced on 2025-03-10." in (
        followed
    )
    # A past target date is refused, as on the official's own form.
    past = (today() - timedelta(days=1)).isoformat()
    refused = client.post(
        f"/directory/{bo.id}/by-phone",
        data={**form, "policy": "robust-sanctuary-policies", "target_date": past},
    )
    assert refused.status_code == 422
    assert "Enter today's date or a later one." in form_errors(refused)
    assert commitments() == 1


def test_a_phone_report_for_a_deactivated_official_is_refused(client, auth, make, catalog, bay):
    auth.login(make.user(Role.STAFF).email)
    gone = make.user(email="bo@bay.example", name="Bo Lee", jurisdiction=bay)
    gone.active = False
    db.session.commit()
    response = client.post(
        f"/directory/{gone.id}/by-phone",
        data={"policy": "cancel-alpr-contracts", "stage": "pledged",
              "occurred_on": "2025-03-10", "visibility": "counted"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "The account of bo@bay.example is deactivated." in form_errors(response)
    assert commitments() == 0


def test_only_staff_record_by_phone(client, auth, make, catalog, bay):
    bo = make.user(email="bo@bay.example", jurisdiction=bay)
    auth.login(make.user(Role.ORGANIZER).email)
    response = client.post(f"/directory/{bo.id}/by-phone", data={"policy": "x"})
    assert response.status_code in (403, 404)
    assert commitments() == 0


@pytest.mark.parametrize("way_in", ["sheet", "email", "phone"])
def test_staff_recording_for_an_official_who_signed_up_alone_verifies_them(
    client, auth, make, catalog, bay, tmp_path, way_in
):
    """Staff who take an official's news by sheet, email or phone vouch for them by that act:
    what they committed to counts from then on, and the audit trail says who vouched."""
    staff = make.user(Role.STAFF)
    bo = make.user(email="bo@bay.example", name="Bo Lee", jurisdiction=bay, unverified=True)
    alpr = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    if way_in == "sheet":
        apply_plan(new_batch(csv_bytes([row()], HEADERS), staff), staff)
        db.session.commit()
    elif way_in == "email":
        accept_thread(an_email(tmp_path, staff), acceptance(bay, alpr), staff)
        db.session.commit()
    else:
        auth.login(staff.email)
        form = {"policy": alpr.slug, "stage": "pledged", "occurred_on": "2025-03-10",
                "visibility": "counted", "note": ""}  # fmt: skip
        assert client.post(f"/directory/{bo.id}/by-phone", data=form).status_code == 302
    db.session.refresh(bo)
    assert bo.is_verified and bo.verified_by_id == staff.id
    verified = db.session.scalar(
        select(AuditEntry).where(
            AuditEntry.action == "user.verified", AuditEntry.subject_id == bo.id
        )
    )
    assert verified is not None and verified.actor_id == staff.id
