"""Only the official makes a commitment more visible; staff may only make it less public.

Staff act on the official's request (a call, an email), so the audit trail keeps the reason
they typed. Widening (private → counted → public) names or counts someone: that is the
official's decision alone. A refusal says why and changes nothing.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.commitments.models import Visibility
from campaign.extensions import db
from tests.conftest import form_errors


@pytest.fixture
def official(make):
    return make.user(email="ana@example.org", name="Ana Díaz")


@pytest.fixture
def staff(make):
    return make.user(Role.STAFF, email="sam@example.org", name="Sam Staff")


def visibility_of(commitment) -> Visibility:
    db.session.expire_all()
    return db.session.get(type(commitment), commitment.id).visibility


def visibility_audit(commitment) -> list[AuditEntry]:
    return list(
        db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "commitment.visibility_changed",
                AuditEntry.subject_id == commitment.id,
            )
        )
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Visibility.PRIVATE, Visibility.COUNTED),
        (Visibility.PRIVATE, Visibility.PUBLIC),
        (Visibility.COUNTED, Visibility.PUBLIC),
    ],
)
def test_staff_cannot_make_a_commitment_more_visible(
    client, auth, catalog, make, official, staff, before, after
):
    commitment = make.commitment(official, catalog[0], visibility=before)
    auth.login("sam@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/visibility",
        data={"visibility": after.value, "reason": "She asked on the phone"},
    )
    assert response.status_code == 422
    assert form_errors(response) == [
        "Only the official can make a commitment more visible. "
        "Staff may only make it less public, at the official's request."
    ]
    assert visibility_of(commitment) == before
    assert visibility_audit(commitment) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Visibility.PUBLIC, Visibility.COUNTED),
        (Visibility.PUBLIC, Visibility.PRIVATE),
        (Visibility.COUNTED, Visibility.PRIVATE),
    ],
)
def test_staff_make_a_commitment_less_public_with_a_reason_that_the_audit_keeps(
    client, auth, catalog, make, official, staff, before, after
):
    commitment = make.commitment(official, catalog[0], visibility=before)
    auth.login("sam@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/visibility",
        data={"visibility": after.value, "reason": "Ana called: her council is hostile"},
    )
    assert response.status_code == 302
    assert visibility_of(commitment) == after
    [entry] = visibility_audit(commitment)
    assert entry.actor_id == staff.id
    assert "at the official's request: Ana called: her council is hostile" in entry.summary
    assert json.loads(entry.changes)["reason"] == [None, "Ana called: her council is hostile"]
    audit_page = client.get("/staff/audit/?action=commitment.visibility_changed")
    assert "Ana called: her council is hostile" in audit_page.get_data(as_text=True)


def test_staff_must_say_why_they_make_a_commitment_less_public(
    client, auth, catalog, make, official, staff
):
    commitment = make.commitment(official, catalog[0], visibility=Visibility.PUBLIC)
    auth.login("sam@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/visibility", data={"visibility": "private", "reason": "  "}
    )
    assert response.status_code == 422
    assert form_errors(response) == [
        "Say why you are changing it for the official (for example “asked by phone on 3 May”)."
    ]
    assert visibility_of(commitment) == Visibility.PUBLIC
    assert visibility_audit(commitment) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (Visibility.PRIVATE, Visibility.PUBLIC),
        (Visibility.COUNTED, Visibility.PUBLIC),
        (Visibility.PUBLIC, Visibility.PRIVATE),
    ],
)
def test_the_official_changes_visibility_either_way_without_a_reason(
    client, auth, catalog, make, official, before, after
):
    commitment = make.commitment(official, catalog[0], visibility=before)
    auth.login("ana@example.org")
    response = client.post(
        f"/commitments/{commitment.id}/visibility", data={"visibility": after.value}
    )
    assert response.status_code == 302
    assert visibility_of(commitment) == after
    [entry] = visibility_audit(commitment)
    assert entry.actor_id == official.id


def test_staff_see_the_reason_field_and_the_rule_and_officials_do_not(
    client, auth, catalog, make, official, staff
):
    commitment = make.commitment(official, catalog[0], visibility=Visibility.PUBLIC)
    auth.login("sam@example.org")
    staff_page = client.get(f"/commitments/{commitment.id}").get_data(as_text=True)
    assert "Why you are changing it for the official" in staff_page
    assert "Staff may only make it less public" in staff_page
    client.post("/logout")
    auth.login("ana@example.org")
    own_page = client.get(f"/commitments/{commitment.id}").get_data(as_text=True)
    assert "Why you are changing it for the official" not in own_page
