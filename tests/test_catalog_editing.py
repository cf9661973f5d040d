"""Staff edit a policy's summary, ✓ flag and resource links without a deploy."""

import json

import pytest
from sqlalchemy import select

from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.extensions import db


def test_staff_edit_summary_flag_and_links_and_the_change_is_audited(client, auth, make, catalog):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    policy = next(p for p in catalog if p.slug == "end-287g-and-task-forces")
    assert not policy.hostile_state_friendly
    response = client.post(
        f"/policies/{policy.slug}/edit",
        data={
            "summary": "New words from the legal team.",
            "hostile_state_friendly": "y",
            "resources-0-label": "Messaging guidance",
            "resources-0-url": "https://campaign.example.org/messaging/287g",
            "resources-1-label": "Model resolution",
            "resources-1-url": "https://campaign.example.org/287g-resolution",
        },
    )
    assert response.status_code == 302
    page = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
    assert "New words from the legal team." in page
    assert 'href="https://campaign.example.org/287g-resolution"' in page
    assert "Useful in hostile or heavily preempting states" in page
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "policy.updated"))
    assert json.loads(entry.changes)["hostile_state_friendly"] == [False, True]


def test_a_javascript_link_is_refused(client, auth, make, catalog):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    response = client.post(
        f"/policies/{catalog[0].slug}/edit",
        data={"summary": "x", "resources-0-label": "Bad", "resources-0-url": "javascript:alert(1)"},
    )
    assert response.status_code == 422
    db.session.refresh(catalog[0])
    assert all(r.url is None for r in catalog[0].resources)


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.ORGANIZER])
def test_only_staff_edit_the_catalog(client, auth, make, catalog, role):
    make.user(role, email="x@example.org")
    auth.login("x@example.org")
    assert client.get(f"/policies/{catalog[0].slug}/edit").status_code == 403
    assert (
        client.post(f"/policies/{catalog[0].slug}/edit", data={"summary": "x"}).status_code == 403
    )
