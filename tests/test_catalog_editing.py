"""Staff edit a policy's summary, ✓ flag and resource links without a deploy."""

import json
import re

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


def _link_rows(html: str) -> list[tuple[str, str]]:
    """The (label, url) rows of the edit form, in order."""
    fields = dict(re.findall(r'name="(resources-\d+-(?:label|url))"[^>]*value="([^"]*)"', html))
    rows, i = [], 0
    while f"resources-{i}-label" in fields:
        rows.append((fields[f"resources-{i}-label"], fields[f"resources-{i}-url"]))
        i += 1
    return rows


def _links(count: int) -> dict[str, str]:
    data = {}
    for i in range(count):
        data[f"resources-{i}-label"] = f"Link {i}"
        data[f"resources-{i}-url"] = f"https://campaign.example.org/{i}"
    return data


def test_the_edit_form_lists_each_link_once_and_saving_it_unchanged_keeps_them(
    client, auth, make, catalog
):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    policy = catalog[0]
    client.post(f"/policies/{policy.slug}/edit", data={"summary": "S", **_links(2)})
    rows = _link_rows(client.get(f"/policies/{policy.slug}/edit").get_data(as_text=True))
    assert rows == [
        ("Link 0", "https://campaign.example.org/0"),
        ("Link 1", "https://campaign.example.org/1"),
        ("", ""),
    ]
    resubmitted = {}
    for i, (label, url) in enumerate(rows):
        resubmitted |= {f"resources-{i}-label": label, f"resources-{i}-url": url}
    client.post(f"/policies/{policy.slug}/edit", data={"summary": "S", **resubmitted})
    db.session.refresh(policy)
    assert [r.label for r in policy.resources] == ["Link 0", "Link 1"]


def test_a_policy_with_the_most_links_allowed_still_opens_for_editing(client, auth, make, catalog):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    policy = catalog[0]
    saved = client.post(f"/policies/{policy.slug}/edit", data={"summary": "S", **_links(12)})
    assert saved.status_code == 302
    page = client.get(f"/policies/{policy.slug}/edit")
    assert page.status_code == 200
    assert _link_rows(page.get_data(as_text=True)) == [
        (f"Link {i}", f"https://campaign.example.org/{i}") for i in range(12)
    ]
