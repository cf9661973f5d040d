"""Every change to a commitment or an account leaves an audit entry: who, when, what."""

import json
import re

import pytest
from sqlalchemy import select

from campaign.accounts.operations import set_password
from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.audit.operations import entries_for
from campaign.commitments.models import Commitment
from campaign.extensions import db


def actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_sign_up_commit_and_progress_are_audited_with_who_and_what(
    client, catalog, make, mailbox, auth
):
    make.jurisdiction("Fresno", "CA", key="fresno")
    client.post(
        "/signup",
        data={
            "name": "Ana Díaz",
            "email": "ana@example.org",
            "password": "correct horse battery",
            "confirm": "correct horse battery",
            "office_title": "Mayor",
            "jurisdiction": "Fresno",
        },
    )
    link = re.search(r"http://[^/\s]+(/signup/confirm/\S+)", mailbox.messages[0].get_content())
    client.post(link.group(1))
    auth.login("ana@example.org")
    policy = catalog[0]
    client.post(
        "/commitments/new", data={f"commit_{policy.id}": "y", f"visibility_{policy.id}": "public"}
    )
    commitment = db.session.scalar(select(Commitment))
    client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2026-03-01", "version": "1"},
    )
    client.post(f"/commitments/{commitment.id}/visibility", data={"visibility": "counted"})

    assert actions() == [
        "user.created",
        "user.email_confirmed",
        "commitment.created",
        "commitment.stage_changed",
        "commitment.visibility_changed",
    ]
    history = entries_for("commitment", commitment.id)
    assert history[0].action == "commitment.visibility_changed"
    assert all(e.actor.email == "ana@example.org" for e in history)
    stage_change = next(e for e in history if e.action == "commitment.stage_changed")
    assert json.loads(stage_change.changes) == {"stage": ["pledged", "introduced"]}


def test_profile_changes_record_before_and_after_but_passwords_leave_no_trace(client, auth, make):
    user = make.user(email="ana@example.org", name="Ana")
    auth.login("ana@example.org")
    client.post("/account", data={"name": "Ana Díaz", "office_title": "Mayor", "phone": ""})
    set_password(user, "another long passphrase")
    db.session.commit()
    updated, password = entries_for("user", user.id)[::-1][-2:]
    assert json.loads(updated.changes)["name"] == ["Ana", "Ana Díaz"]
    assert password.action == "user.password_changed"
    assert password.changes is None
    assert "passphrase" not in (password.summary + (password.changes or ""))


def test_a_refused_change_leaves_no_audit_entry(client, auth, catalog, make):
    official = make.user(email="ana@example.org")
    commitment = make.commitment(official, catalog[0])
    auth.login("ana@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "pledged", "occurred_on": "2026-03-01", "version": "1"},
    )
    assert response.status_code == 422
    assert entries_for("commitment", commitment.id) == []


def test_staff_read_the_audit_trail_as_a_filtered_list(client, auth, make, catalog):
    from campaign.accounts.roles import Role

    official = make.user(email="ana@example.org", name="Ana")
    commitment = make.commitment(official, catalog[0])
    auth.login("ana@example.org")
    client.post(f"/commitments/{commitment.id}/visibility", data={"visibility": "private"})
    auth.logout()
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    html = client.get("/staff/audit/?action=commitment.visibility_changed").get_data(as_text=True)
    assert "visibility Public → Private to campaign staff" in html
    assert f'href="/staff/commitments/{commitment.id}"' in html


def test_officials_and_organizers_cannot_read_the_audit_trail(client, auth, make):
    from campaign.accounts.roles import Role

    for role, email in ((Role.OFFICIAL, "o@example.org"), (Role.ORGANIZER, "g@example.org")):
        make.user(role, email=email)
        auth.login(email)
        assert client.get("/staff/audit/").status_code == 403
        auth.logout()


@pytest.mark.parametrize("page", ["99999999999999999999", "2147483647", "²", "-3", "x"])
def test_any_audit_page_number_shows_a_page_rather_than_an_error(client, auth, make, page):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    assert client.get("/staff/audit/", query_string={"page": page}).status_code == 200


def test_an_audit_filter_with_control_characters_is_not_an_error(client, auth, make):
    from campaign.audit.operations import record

    staff = make.user(Role.STAFF, email="staff@example.org")
    record(staff, "user.created", staff, "Account created for Sam")
    db.session.commit()
    auth.login("staff@example.org")
    response = client.get("/staff/audit/", query_string={"action": "user.created\x00"})
    assert response.status_code == 200
    assert "Account created" in response.get_data(as_text=True)
