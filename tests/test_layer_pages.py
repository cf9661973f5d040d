"""The layer pages as staff use them: upload, columns, dry run, choices, import, cancel."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from campaign.accounts.roles import Role
from campaign.extensions import db
from campaign.layers.models import (
    LayerAgreement,
    LayerSnapshot,
    LayerStatus,
    LayerUpload,
    ReferenceLayer,
    UploadStatus,
)
from tests.test_layers import PENDING, POLICY, gazetteer, xlsx_bytes  # noqa: F401 (fixture)

pytestmark = pytest.mark.skipif(not PENDING.exists(), reason="ICE lists not present")


def upload(client, data: bytes, name: str = "pending.xlsx", **fields):
    form = {
        "layer_name": "287(g) agreements",
        "policy": POLICY,
        "as_of": "2025-05-15",
        "list_status": "pending",
        "source_note": "ICE, public domain",
        "file": (io.BytesIO(data), name),
        **fields,
    }
    return client.post("/staff/layers/upload", data=form, content_type="multipart/form-data")


def counts():
    return (
        db.session.scalar(select(func.count(ReferenceLayer.id))),
        db.session.scalar(select(func.count(LayerSnapshot.id))),
        db.session.scalar(select(func.count(LayerAgreement.id))),
    )


@pytest.mark.usefixtures("gazetteer")
def test_staff_upload_map_check_choose_and_import_a_real_list(client, auth, make, catalog):
    auth.login(make.user(Role.STAFF).email)
    index = client.get("/staff/layers/").get_data(as_text=True)
    assert '<label for="layer_name">Layer</label>' in index
    assert "No layer yet" in index

    response = upload(client, PENDING.read_bytes())
    assert response.status_code == 302 and response.headers["Location"].endswith("/columns")
    columns = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<option selected value="LAW ENFORCEMENT AGENCY">' in columns
    mapping = {
        "state": "STATE", "agency": "LAW ENFORCEMENT AGENCY", "agency_type": "TYPE",
        "county": "COUNTY", "support_type": "SUPPORT TYPE", "signed": "", "link": "",
    }  # fmt: skip
    response = client.post(response.headers["Location"], data=mapping)
    assert response.status_code == 302
    report_url = response.headers["Location"]
    page = client.get(report_url).get_data(as_text=True)
    assert "Nothing has been written yet" in page
    assert "(a new layer, for “End 287(g) and task forces”)" in page
    # the spreadsheet's own row numbers, and reasons a person understands
    assert '<label for="c39">Where row 39 counts</label>' in page  # University of North Florida
    assert "No city or town called “Lower Burrell Fourth Ward” in Pennsylvania" in page
    assert counts() == (0, 0, 0)

    upload_row = db.session.scalar(select(LayerUpload))
    response = client.post(
        f"/staff/layers/{upload_row.id}/choices", data={"c39": "12", "c20": "-", "then": "import"}
    )
    assert response.status_code == 302
    result = client.get(report_url).get_data(as_text=True)
    assert "New agreements" in result
    db.session.expire_all()
    assert upload_row.status == UploadStatus.APPLIED and upload_row.sheet_json is None
    assert counts() == (1, 1, 92)
    north_florida = db.session.scalar(
        select(LayerAgreement).where(LayerAgreement.agency.startswith("University of North"))
    )
    assert north_florida.jurisdiction.key == "12"
    fiu = db.session.scalar(
        select(LayerAgreement).where(LayerAgreement.agency.startswith("Florida International"))
    )
    assert fiu.jurisdiction is None and fiu.unplaced_reason == "Left unplaced by staff."
    assert {a.status for a in db.session.scalars(select(LayerAgreement))} == {LayerStatus.PENDING}

    # the same list again: the mapping is remembered and nothing changes
    response = upload(client, PENDING.read_bytes())
    assert response.status_code == 302 and not response.headers["Location"].endswith("/columns")
    again = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Already imported" in again
    second = db.session.scalars(select(LayerUpload).order_by(LayerUpload.id.desc())).first()
    client.post(f"/staff/layers/{second.id}/apply")
    assert counts() == (1, 1, 92)
    assert "Pending as of 2025-05-15 (92 rows)" in client.get("/staff/layers/").get_data(
        as_text=True
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"layer_name": ""}, "Name the layer"),
        ({"policy": ""}, "Choose the policy"),
        ({"as_of": "2099-01-01"}, "date"),
        ({"as_of": "last tuesday"}, "Not a valid date value."),
    ],
)
def test_bad_upload_input_gets_a_message_and_writes_nothing(client, auth, make, catalog, fields,
                                                            message):  # fmt: skip
    auth.login(make.user(Role.STAFF).email)
    response = upload(client, PENDING.read_bytes(), **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(LayerUpload.id))) == 0


def test_a_file_that_is_no_spreadsheet_is_refused_in_words(client, auth, make, catalog):
    auth.login(make.user(Role.STAFF).email)
    response = upload(client, b"\x89PNG\r\n\x1a\n" + bytes(100), name="photo.png")
    assert response.status_code == 422
    assert "is not a CSV or XLSX spreadsheet" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(LayerUpload.id))) == 0


def test_an_existing_layer_of_another_policy_is_refused(client, auth, make, catalog):
    from campaign.layers.snapshots import get_or_create_layer

    other = next(p for p in catalog if p.slug == "cancel-alpr-contracts")
    get_or_create_layer("287(g) agreements", other)
    db.session.commit()
    auth.login(make.user(Role.STAFF).email)
    response = upload(client, PENDING.read_bytes())
    assert response.status_code == 422
    assert "concerns “Cancel ALPR contracts”" in response.get_data(as_text=True)


def test_cancel_writes_nothing_and_a_missing_column_is_asked_for(client, auth, make, catalog):
    auth.login(make.user(Role.STAFF).email)
    data = xlsx_bytes(["Where", "Who"], [["TEXAS", "Smith County Sheriff's Office"]])
    response = upload(client, data, name="odd.xlsx")
    columns_url = response.headers["Location"]
    refused = client.post(columns_url, data={"state": "", "agency": "Who"})
    assert refused.status_code == 422
    assert "Choose the column that holds the state." in refused.get_data(as_text=True)
    row = db.session.scalar(select(LayerUpload))
    client.post(f"/staff/layers/{row.id}/cancel")
    db.session.expire_all()
    assert row.status == UploadStatus.CANCELLED and row.sheet_json is None
    assert counts() == (0, 0, 0)


@pytest.mark.parametrize("role", [None, Role.OFFICIAL, Role.ORGANIZER])
def test_only_staff_reach_the_layer_pages(client, auth, make, role):
    if role is not None:
        auth.login(make.user(role).email)
    response = client.get("/staff/layers/")
    assert response.status_code == (302 if role is None else 403)
    assert client.get("/staff/layers/1").status_code in (302, 403)
