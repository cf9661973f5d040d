"""The import pages as staff use them: upload, columns, dry run, choices, import, invitations."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.imports.models import ImportBatch, ImportStatus
from tests.test_import_spreadsheet import MESSY_ROWS, csv_bytes, places  # noqa: F401 (fixture)

MAPPING = {
    "official_name": "Official Name", "email": "E-mail", "office": "Title",
    "jurisdiction": "City/County", "state": "State", "fips": "FIPS", "policy": "Policy",
    "stage": "Status", "pledged_on": "Date Pledged", "stage_date": "Last Update",
    "evidence_url": "Evidence", "notes": "Notes", "visibility": "", "phone": "",
    "target_date": "",
}  # fmt: skip


def upload(client, data: bytes, name: str = "helpdesk.csv"):
    return client.post(
        "/staff/imports/spreadsheet",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def field_labelled(page: str, label: str) -> str:
    """The name of the form field a <label> names, as a person finds it by its label."""
    match = re.search(rf'<label for="([^"]+)">{re.escape(label)}</label>', page)
    assert match, f"no field labelled {label!r}"
    field_id = match.group(1)
    name = re.search(rf'id="{re.escape(field_id)}" name="([^"]+)"', page)
    return name.group(1)


def option_value(page: str, field: str, label_start: str) -> str:
    """The value of the option of `field` whose text starts with `label_start`."""
    select_html = page[page.index(f'name="{field}"') :]
    select_html = select_html[: select_html.index("</select>")]
    match = re.search(rf'<option value="([^"]*)"[^>]*>{re.escape(label_start)}', select_html)
    assert match, f"no option {label_start!r} for {field}"
    return match.group(1)


def rows_needing_a_choice(page: str) -> int:
    return int(re.search(r'<h2 id="choose">Needs a choice \((\d+)\)</h2>', page).group(1))


@pytest.mark.usefixtures("places")
def test_one_choice_per_spelling_settles_every_row_written_that_way(client, auth, make, catalog):
    staff = make.user(Role.STAFF)
    auth.login(staff.email)
    rows = [
        [f"Official {n}", f"o{n}@stpaul.example", "Council Member", "Saint Paul", "MN", "",
         "protect students at school" if n % 2 else "Protect students at school ", "pledged",
         "2025-03-04", "", "", ""]
        for n in range(20)
    ] + [
        ["Cy Diaz", "cy@nm.example", "Trustee", "Dona Ana", "NM", "",
         "Cancel detention contracts", "", "2025-04-01", "", "", ""],
        ["Di Moss", "di@nm.example", "Trustee", "dona ana", "New Mexico", "",
         "Cancel detention contracts", "", "2025-04-02", "", "", ""],
    ]  # fmt: skip
    columns_url = upload(client, csv_bytes(rows)).headers["Location"]
    report_url = client.post(columns_url, data=MAPPING).headers["Location"]
    page = client.get(report_url).get_data(as_text=True)
    assert rows_needing_a_choice(page) == 22
    assert page.count("Which policy is “") == 1  # one question for twenty rows
    assert page.count("Which “") == 1  # and one for both spellings of Doña Ana
    assert "Skip these 20 rows" in page and "Skip these 2 rows" in page

    batch = db.session.scalar(select(ImportBatch))
    policy = field_labelled(page, "Which policy is “Protect students at school”?")
    response = client.post(
        f"/staff/imports/{batch.id}/choices",
        data={policy: option_value(page, policy, "Safe, welcoming schools"), "then": "check"},
    )
    assert response.status_code == 302
    page = client.get(report_url).get_data(as_text=True)
    assert rows_needing_a_choice(page) == 2
    assert "Which policy is" not in page
    place = field_labelled(page, "Which “Dona Ana, NM”?")
    client.post(
        f"/staff/imports/{batch.id}/choices",
        data={place: option_value(page, place, "Doña Ana County, NM"), "then": "import"},
    )
    schools = db.session.scalars(
        select(Commitment).where(Commitment.policy.has(slug="safe-welcoming-schools"))
    ).all()
    assert len(schools) == 20
    both = db.session.scalars(
        select(User).where(User.email.in_(["cy@nm.example", "di@nm.example"]))
    )
    assert {u.jurisdiction.key for u in both} == {"35013"}


@pytest.mark.usefixtures("places")
def test_staff_upload_map_check_choose_and_import(client, auth, make, catalog):
    staff = make.user(Role.STAFF)
    auth.login(staff.email)

    response = upload(client, csv_bytes(MESSY_ROWS))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/columns")
    columns_page = client.get(response.headers["Location"])
    assert "Match the columns" in columns_page.get_data(as_text=True)
    assert '<option selected value="E-mail">' in columns_page.get_data(as_text=True)

    response = client.post(response.headers["Location"], data=MAPPING)
    assert response.status_code == 302
    report_url = response.headers["Location"]
    page = client.get(report_url).get_data(as_text=True)
    assert "Nothing has been written yet" in page
    assert "Which “Dona Ana, NM”?" in page
    assert "Not a valid email" not in page
    assert "“ed at example” is not a valid email address." in page
    assert db.session.scalar(select(func.count(Commitment.id))) == 0

    batch = db.session.scalar(select(ImportBatch))
    dona_ana = field_labelled(page, "Which “Dona Ana, NM”?")
    response = client.post(
        f"/staff/imports/{batch.id}/choices",
        data={dona_ana: option_value(page, dona_ana, "Doña Ana County, NM"), "then": "import"},
    )
    assert response.status_code == 302
    result = client.get(report_url).get_data(as_text=True)
    assert "Commitments created" in result
    db.session.expire_all()
    assert batch.status == ImportStatus.APPLIED
    assert batch.sheet_json is None
    assert db.session.scalar(select(func.count(Commitment.id))) == 6
    cy = db.session.scalar(select(User).where(User.email == "cy@nm.example"))
    assert cy.jurisdiction.key == "35013"

    # The same file again: the mapping is remembered and nothing would change.
    response = upload(client, csv_bytes(MESSY_ROWS))
    assert "/columns" not in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This exact file was imported" in page
    second = db.session.scalars(select(ImportBatch).order_by(ImportBatch.id)).all()[-1]
    client.post(f"/staff/imports/{second.id}/apply")
    assert db.session.scalar(select(func.count(Commitment.id))) == 6


def test_a_file_that_is_not_a_spreadsheet_is_refused_and_nothing_is_kept(client, auth, make):
    auth.login(make.user(Role.STAFF).email)
    response = upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "photo.png")
    assert response.status_code == 422
    assert "is not a CSV or XLSX spreadsheet" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(ImportBatch.id))) == 0


def test_only_staff_reach_the_import_pages(client, auth, make):
    for role in (Role.OFFICIAL, Role.ORGANIZER):
        user = make.user(role)
        auth.login(user.email)
        assert client.get("/staff/imports/").status_code == 403
        assert client.get("/staff/triage/").status_code == 403
        assert upload(client, csv_bytes(MESSY_ROWS)).status_code == 403
        auth.logout()
    assert db.session.scalar(select(func.count(ImportBatch.id))) == 0


@pytest.mark.usefixtures("places")
def test_imported_officials_claim_their_account_by_invitation(client, auth, make, catalog, mailbox):
    staff = make.user(Role.STAFF)
    auth.login(staff.email)
    response = upload(client, csv_bytes([MESSY_ROWS[0]]))
    client.post(response.headers["Location"], data={
        "official_name": "Official Name", "email": "E-mail", "jurisdiction": "City/County",
        "state": "State", "policy": "Policy", "stage": "Status", "pledged_on": "Date Pledged",
        "stage_date": "Last Update",
    })  # fmt: skip
    batch = db.session.scalar(select(ImportBatch))
    client.post(f"/staff/imports/{batch.id}/apply")
    page = client.get(f"/staff/imports/{batch.id}").get_data(as_text=True)
    assert "Email 1 invitations" in page
    client.post(f"/staff/imports/{batch.id}/invitations")
    auth.logout()

    (message,) = mailbox.messages
    assert message["To"] == "ana@stpaul.example"
    link = re.search(r"http://127\.0\.0\.1:5000(/password/claim/\S+)", message.get_content()).group(
        1
    )
    assert "Claim your account" in client.get(link).get_data(as_text=True)
    response = client.post(
        link, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    )
    assert response.status_code == 302
    assert client.get("/commitments/").status_code == 200  # signed in as Ana
    auth.logout()
    assert client.get(link).status_code == 410  # the link worked once
    assert auth.login("ana@stpaul.example", "a brand new passphrase").status_code == 302


def test_a_spreadsheet_larger_than_any_form_uploads_within_the_import_limit(
    app, client, auth, make, monkeypatch
):
    auth.login(make.user(Role.STAFF).email)
    long_row = [*MESSY_ROWS[1][:11], "n" * 1900]
    data = csv_bytes([long_row] * 700)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    # A hand-built body: the test client would spool a big upload to a file it never closes.
    boundary = "campaign-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    kind = f"multipart/form-data; boundary={boundary}"
    post = lambda: client.post("/staff/imports/spreadsheet", data=body, content_type=kind)  # noqa: E731
    assert post().status_code == 302
    monkeypatch.setitem(app.config, "IMPORT_MAX_UPLOAD_BYTES", len(body) - 1)
    assert post().status_code == 413
    assert db.session.scalar(select(func.count(ImportBatch.id))) == 1


@pytest.mark.usefixtures("places")
def test_rows_without_a_date_are_skipped_or_dated_estimated_by_one_choice_per_file(
    client, auth, make, catalog
):
    staff = make.user(Role.STAFF)
    auth.login(staff.email)
    undated = [
        [f"Official {n}", f"u{n}@stpaul.example", "Council Member", "Saint Paul", "MN", "",
         "Cancel ALPR contracts", "pledged", "", "", "", ""]
        for n in range(3)
    ]  # fmt: skip
    columns_url = upload(client, csv_bytes([*undated, MESSY_ROWS[1]])).headers["Location"]
    report_url = client.post(columns_url, data=MAPPING).headers["Location"]
    page = client.get(report_url).get_data(as_text=True)
    assert "Rows without a date (3)" in page
    assert rows_needing_a_choice(page) == 3
    batch = db.session.scalar(select(ImportBatch))

    client.post(f"/staff/imports/{batch.id}/choices", data={"undated": "skip", "then": "check"})
    page = client.get(report_url).get_data(as_text=True)
    assert rows_needing_a_choice(page) == 0
    assert page.count("rows without a date are skipped, as you chose for this file") == 3

    client.post(
        f"/staff/imports/{batch.id}/choices", data={"undated": "estimate", "then": "import"}
    )
    assert db.session.scalar(select(func.count(Commitment.id))) == 4
    guessed = db.session.scalar(
        select(Commitment).where(Commitment.official.has(email="u0@stpaul.example"))
    )
    assert guessed.pledged_on == batch.created_at.date()
    detail = client.get(f"/commitments/{guessed.id}").get_data(as_text=True)
    assert "date estimated" in detail
    dated = db.session.scalar(
        select(Commitment).where(Commitment.official.has(email="ana@stpaul.example"))
    )
    assert "date estimated" not in client.get(f"/commitments/{dated.id}").get_data(as_text=True)
