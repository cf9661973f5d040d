"""Admins change roles and deactivate accounts; every change is audited."""

import pytest
from sqlalchemy import select

from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.extensions import db


@pytest.fixture
def admin(make, auth):
    user = make.user(Role.ADMIN, email="admin@example.org", name="Ada Admin")
    auth.login("admin@example.org")
    return user


def test_admin_promotes_an_official_to_organizer_and_it_is_audited(client, admin, make):
    user = make.user(email="rosa@example.org")
    response = client.post(f"/admin/users/{user.id}", data={"role": "organizer"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.role == Role.ORGANIZER
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.role_changed"))
    assert entry.actor_id == admin.id and "official → organizer" in entry.summary


def test_deactivated_accounts_are_signed_out_at_once(app, client, admin, make):
    user = make.user(email="rosa@example.org")
    theirs = app.test_client()
    theirs.post("/login", data={"email": "rosa@example.org", "password": "correct horse battery"})
    assert theirs.get("/commitments/").status_code == 200
    client.post(f"/admin/users/{user.id}", data={"active": "0"})
    assert theirs.get("/commitments/").status_code == 302
    assert "Deactivated" in client.get("/admin/users").get_data(as_text=True)


def test_admins_cannot_demote_or_deactivate_themselves(client, admin):
    client.post(f"/admin/users/{admin.id}", data={"role": "official", "active": "0"})
    db.session.refresh(admin)
    assert admin.role == Role.ADMIN and admin.active


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.ORGANIZER, Role.STAFF])
def test_only_admins_manage_accounts(client, auth, make, role):
    target = make.user(email="target@example.org")
    make.user(role, email="x@example.org")
    auth.login("x@example.org")
    assert client.get("/admin/users").status_code == 403
    assert client.post(f"/admin/users/{target.id}", data={"role": "admin"}).status_code == 403
    db.session.refresh(target)
    assert target.role == Role.OFFICIAL


def test_unknown_role_is_a_400_and_changes_nothing(client, admin, make):
    user = make.user(email="rosa@example.org")
    assert client.post(f"/admin/users/{user.id}", data={"role": "overlord"}).status_code == 400
    db.session.refresh(user)
    assert user.role == Role.OFFICIAL


@pytest.mark.parametrize("page", ["99999999999999999999", "2147483647", "²", "-3", "x"])
def test_any_page_number_shows_a_page_rather_than_an_error(client, admin, page):
    assert client.get("/admin/users", query_string={"page": page}).status_code == 200


def test_an_account_search_with_control_characters_is_read_as_plain_text(client, admin, make):
    make.user(name="Rosa Public")
    html = client.get("/admin/users", query_string={"q": "Ros\x00a\u202e"}).get_data(as_text=True)
    assert "Rosa Public" in html
