"""Staff downloads of officials' contact details are in the audit trail: who, when, which filter.

Officials in hostile places trust the campaign with their emails and phones. A list of them
that leaks must be traceable to the download it came from, so every staff export that
names officials (the directory with emails and phones, the follow-up queue, an import's row
report with emails) writes an audit entry before the file is sent.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from campaign.audit.models import AuditEntry
from campaign.extensions import db
from tests.test_access_matrix import LOGINS, OWNER_SECRETS, STAFF, build_world


@pytest.fixture
def world(make, catalog):
    return build_world(make, catalog)


@pytest.fixture
def staff_client(client, auth, world):
    assert auth.login(LOGINS[STAFF]).status_code == 302
    return client


def exports(action: str) -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def audit_trail(client, action: str) -> str:
    return client.get(f"/staff/audit/?action={action}").get_data(as_text=True)


def test_a_directory_export_with_emails_and_phones_is_audited_with_its_filter(staff_client, world):
    response = staff_client.get("/directory/officials.csv?state=MN&q=alma")
    assert response.status_code == 200
    assert OWNER_SECRETS["email"] in response.get_data(as_text=True)

    [entry] = exports("export.officials_contacts")
    assert json.loads(entry.changes) == {
        "filter": [None, {"q": "alma", "state": "MN"}],
        "rows": [None, 1],
    }
    trail = audit_trail(staff_client, "export.officials_contacts")
    assert "Sam Staff" in trail
    assert "Exported officials contacts: 1 row, state=MN, q=alma" in trail


def test_an_unfiltered_directory_export_says_so(staff_client, world):
    staff_client.get("/directory/officials.csv")
    [entry] = exports("export.officials_contacts")
    assert entry.summary.endswith("rows, no filter")


def test_each_download_is_a_new_entry(staff_client, world):
    staff_client.get("/directory/officials.csv")
    staff_client.get("/directory/officials.csv?state=WY")
    assert len(exports("export.officials_contacts")) == 2


def test_a_follow_up_queue_export_is_audited_with_its_filter(staff_client, world):
    assert staff_client.get("/staff/queue.csv?owner=all&stage=introduced").status_code == 200
    [entry] = exports("export.follow_up_queue")
    assert json.loads(entry.changes)["filter"] == [None, {"owner": "all", "stage": "introduced"}]
    assert "owner=all, stage=introduced" in audit_trail(staff_client, "export.follow_up_queue")


def test_an_import_row_report_with_emails_is_audited_against_its_batch(staff_client, world):
    path = f"/staff/imports/{world['pending_import']}/report.csv"
    response = staff_client.get(path)
    assert "sheet@example.org" in response.get_data(as_text=True)
    [entry] = exports("export.import_report")
    assert (entry.subject_type, entry.subject_id) == ("import_batch", world["pending_import"])
    assert f"batch={world['pending_import']}" in audit_trail(staff_client, "export.import_report")


def test_an_organizer_refused_the_export_leaves_no_entry(client, auth, world):
    auth.login(LOGINS["organizer"])
    assert client.get("/directory/officials.csv").status_code == 403
    assert exports("export.officials_contacts") == []
