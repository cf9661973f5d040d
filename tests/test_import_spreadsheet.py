"""Spreadsheet import: messy real-world rows, the dry run, idempotence and what gets created."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment, TimelineEntry, Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.sheets import Action, parse_date, parse_stage, plan_rows
from campaign.imports.spreadsheet import SpreadsheetError, guess_mapping, read_sheet
from campaign.places.models import JurisdictionKind
from campaign.timeutil import today

HEADERS = [
    "Official Name", "E-mail", "Title", "City/County", "State", "FIPS", "Policy", "Status",
    "Date Pledged", "Last Update", "Evidence", "Notes",
]  # fmt: skip

MESSY_ROWS = [
    # 2: "St." and a state name in capitals; a loose policy name; US dates
    ["Ana Ruiz ", " ana@StPaul.example ", "Council Member", "St. Paul", "MINNESOTA", "",
     "cancel ALPR", "Passed", "03/04/2025", "2025-06-01", "https://stpaul.example/v/1",
     "Voted 5-2"],
    # 3: same official, a second policy named loosely
    ["Ana Ruiz", "ana@stpaul.example", "Council Member", "Saint Paul", "MN", "",
     "sanctuary policies", "pledged", "2025-03-04", "", "", ""],
    # 4: trailing space, "County" in the name, a state code in lower case
    ["Bo Lee", "bo@bay.example", "County Commissioner", "Bay County ", "fl", "",
     "End 287(g) and task forces", "Introduced", "2025-01-10", "2025-02-01", "", ""],
    # 5: "Dona Ana" fits the town and the county: a person must choose
    ["Cy Diaz", "cy@nm.example", "Trustee", "Dona Ana", "NM", "",
     "Cancel detention contracts", "", "2025-04-01", "", "", ""],
    # 6: "Cnty" abbreviation settles it
    ["Di Moss", "di@nm.example", "Commissioner", "Dona Ana Cnty", "New Mexico", "",
     "Cancel detention contracts", "pledged", "2025-04-02", "", "", ""],
    # 7: not an email
    ["Ed Fox", "ed at example", "Mayor", "Saint Paul", "MN", "", "Cancel ALPR contracts",
     "pledged", "2025-01-01", "", "", ""],
    # 8: no such policy
    ["Flo Gray", "flo@stpaul.example", "Council Member", "Saint Paul", "MN", "",
     "Free pizza for all", "pledged", "2025-01-01", "", "", ""],
    # 9: FIPS code only, leading zero dropped by a spreadsheet is fine too
    ["Gus Hill", "gus@pg.example", "Council Member", "", "", "24033",
     "Officers identify themselves", "pledged", "2025-05-05", "", "", ""],
    # 10: a date in the future
    ["Hal Ives", "hal@stpaul.example", "Council Member", "Saint Paul", "MN", "",
     "Robust sanctuary policies", "pledged", "2099-01-01", "", "", ""],
    # 11: the same official and policy as row 3
    ["Ana Ruiz", "ANA@stpaul.example", "Council Member", "St Paul", "MN", "",
     "Robust sanctuary policies", "pledged", "2025-03-04", "", "", ""],
    # 12: a town that is not in that state
    ["Ivy Jo", "ivy@tx.example", "Council Member", "Saint Paul", "Texas", "",
     "Cancel ALPR contracts", "pledged", "2025-03-04", "", "", ""],
]  # fmt: skip


@pytest.fixture
def places(make):
    return {
        "saint_paul": make.jurisdiction("Saint Paul", "MN", key="gn5045360", population=300000),
        "bay": make.jurisdiction("Bay County", "FL", JurisdictionKind.COUNTY, key="12005"),
        "dona_ana_town": make.jurisdiction("Doña Ana", "NM", key="gn5464806"),
        "dona_ana_county": make.jurisdiction(
            "Doña Ana County", "NM", JurisdictionKind.COUNTY, key="35013"
        ),
        "prince_georges": make.jurisdiction(
            "Prince George's County", "MD", JurisdictionKind.COUNTY, key="24033"
        ),
    }


def csv_bytes(rows, headers=HEADERS, encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def plan_for(data: bytes, choices=None):
    sheet = read_sheet(data, "history.csv")
    return plan_rows(sheet, guess_mapping(sheet.headers), choices)


def test_headers_are_mapped_by_name_whatever_their_spelling():
    mapping = guess_mapping(HEADERS)
    assert mapping["official_name"] == "Official Name"
    assert mapping["email"] == "E-mail"
    assert mapping["office"] == "Title"
    assert mapping["jurisdiction"] == "City/County"
    assert mapping["state"] == "State"
    assert mapping["fips"] == "FIPS"
    assert mapping["policy"] == "Policy"
    assert mapping["stage"] == "Status"
    assert mapping["pledged_on"] == "Date Pledged"
    assert mapping["stage_date"] == "Last Update"
    assert mapping["evidence_url"] == "Evidence"
    assert mapping["notes"] == "Notes"
    assert mapping["visibility"] is None


def test_dry_run_reports_every_row_and_writes_nothing(catalog, places):
    plan = plan_for(csv_bytes(MESSY_ROWS))
    by_row = {row.number: row for row in plan.rows}

    assert by_row[2].action == Action.CREATE
    assert by_row[2].jurisdiction == places["saint_paul"]
    assert by_row[2].policy.slug == "cancel-alpr-contracts"
    assert by_row[2].stage == Stage.PASSED
    assert by_row[2].pledged_on == date(2025, 3, 4)
    assert by_row[2].new_official
    assert any("read as" in note for note in by_row[2].notes)
    assert by_row[3].action == Action.CREATE
    assert by_row[3].policy.slug == "robust-sanctuary-policies"
    assert by_row[4].jurisdiction == places["bay"]
    assert by_row[4].stage == Stage.INTRODUCED
    assert by_row[5].action == Action.CHOOSE
    assert {m.jurisdiction for m in by_row[5].jurisdiction_candidates} == {
        places["dona_ana_town"],
        places["dona_ana_county"],
    }
    assert by_row[6].jurisdiction == places["dona_ana_county"]
    assert by_row[7].action == Action.FAIL
    assert "not a valid email" in by_row[7].reason
    assert by_row[8].action == Action.FAIL
    assert "Free pizza" in by_row[8].reason
    assert by_row[9].jurisdiction == places["prince_georges"]
    assert by_row[10].action == Action.FAIL
    assert "in the future" in by_row[10].reason
    assert by_row[11].action == Action.SKIP
    assert "row 3" in by_row[11].reason
    assert by_row[12].action == Action.FAIL
    assert "Texas" in by_row[12].reason
    assert plan.counts == {
        Action.CREATE: 5,
        Action.UPDATE: 0,
        Action.SKIP: 1,
        Action.CHOOSE: 1,
        Action.FAIL: 4,
    }
    assert db.session.scalar(select(func.count(User.id))) == 0
    assert db.session.scalar(select(func.count(Commitment.id))) == 0


def test_stage_and_date_words_people_use():
    assert parse_stage("ADOPTED") == Stage.PASSED
    assert parse_stage(" on hold ") == Stage.STALLED
    assert parse_stage("") == Stage.PLEDGED
    assert parse_stage("maybe") is None
    assert parse_date("3/4/2025") == date(2025, 3, 4)
    assert parse_date("March 4, 2025") == date(2025, 3, 4)
    assert parse_date("45720") == date(2025, 3, 4)  # an Excel serial date
    with pytest.raises(ValueError, match="not a date"):
        parse_date("soon")


def test_excel_csv_in_windows_encoding_keeps_accents(catalog, places):
    rows = [["José Núñez", "jose@nm.example", "Trustee", "Doña Ana County", "NM", "",
             "Cancel detention contracts", "pledged", "2025-04-01", "", "", "Señor"]]  # fmt: skip
    sheet = read_sheet(csv_bytes(rows, encoding="cp1252").replace(b",", b";"), "x.csv")
    plan = plan_rows(sheet, guess_mapping(sheet.headers))
    (row,) = plan.rows
    assert row.name == "José Núñez"
    assert row.jurisdiction == places["dona_ana_county"]
    assert row.note == "Señor"


def test_xlsx_with_real_date_cells(catalog, places):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    sheet.append(["Ana Ruiz", "ana@stpaul.example", "Council Member", "Saint Paul", "MN", None,
                  "Cancel ALPR contracts", "Implemented", date(2025, 3, 4), date(2025, 9, 1),
                  None, None])  # fmt: skip
    buffer = io.BytesIO()
    workbook.save(buffer)
    plan = plan_for(buffer.getvalue())
    (row,) = plan.rows
    assert row.action == Action.CREATE
    assert row.stage == Stage.IMPLEMENTED
    assert row.pledged_on == date(2025, 3, 4)
    assert row.stage_on == date(2025, 9, 1)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV or XLSX"),
        (b"PK\x03\x04garbage", "damaged"),
    ],
)
def test_files_that_are_not_spreadsheets_are_refused_with_a_reason(data, message):
    with pytest.raises(SpreadsheetError, match=message):
        read_sheet(data, "upload.bin")


def test_blank_lines_keep_the_row_numbers_staff_see(catalog, places):
    data = csv_bytes([MESSY_ROWS[0], ["", "", ""], MESSY_ROWS[5]])
    plan = plan_for(data)
    assert [row.number for row in plan.rows] == [2, 4]


def new_batch(data: bytes, staff, filename="history.csv"):
    import hashlib

    from campaign.imports.models import ImportBatch, ImportKind, ImportStatus
    from campaign.imports.sheets import store_sheet

    sheet = read_sheet(data, filename)
    batch = ImportBatch(
        kind=ImportKind.SPREADSHEET,
        status=ImportStatus.PENDING,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        uploaded_by=staff,
        mapping_json=__import__("json").dumps(guess_mapping(sheet.headers)),
    )
    store_sheet(batch, sheet)
    db.session.add(batch)
    db.session.commit()
    return batch


def test_import_creates_exactly_the_planned_records_and_twice_changes_nothing(
    catalog, places, make
):
    from campaign.imports.sheets import apply_plan

    staff = make.user(Role.STAFF)
    batch = new_batch(csv_bytes(MESSY_ROWS), staff)
    plan = apply_plan(batch, staff)
    db.session.commit()
    assert plan.counts[Action.CREATE] == 5

    officials = {u.email: u for u in db.session.scalars(select(User).where(User.id != staff.id))}
    assert set(officials) == {
        "ana@stpaul.example",
        "bo@bay.example",
        "di@nm.example",
        "gus@pg.example",
    }
    ana = officials["ana@stpaul.example"]
    assert ana.name == "Ana Ruiz"
    assert ana.password_hash is None  # claims the account by an emailed invitation
    assert ana.jurisdiction == places["saint_paul"]
    assert ana.office_title == "Council Member"
    alpr = db.session.scalar(
        select(Commitment).where(
            Commitment.official_id == ana.id, Commitment.policy.has(slug="cancel-alpr-contracts")
        )
    )
    assert alpr.stage == Stage.PASSED
    assert alpr.pledged_on == date(2025, 3, 4)
    assert alpr.stage_changed_on == date(2025, 6, 1)
    assert alpr.visibility == Visibility.COUNTED  # nobody is published without saying so
    entries = db.session.scalars(alpr.timeline.select()).all()
    assert [(e.stage, e.occurred_on) for e in entries] == [
        (Stage.PLEDGED, date(2025, 3, 4)),
        (Stage.PASSED, date(2025, 6, 1)),
    ]
    assert entries[1].evidence_url == "https://stpaul.example/v/1"
    assert entries[1].note == "Voted 5-2"
    assert all(e.recorded_by_id == staff.id and e.import_batch_id == batch.id for e in entries)
    assert db.session.scalar(select(func.count(Commitment.id))) == 5
    timeline_count = db.session.scalar(select(func.count(TimelineEntry.id)))

    again = new_batch(csv_bytes(MESSY_ROWS), staff)
    second = apply_plan(again, staff)
    db.session.commit()
    assert second.counts[Action.CREATE] == 0
    assert second.counts[Action.UPDATE] == 0
    assert second.counts[Action.SKIP] == 6
    assert db.session.scalar(select(func.count(Commitment.id))) == 5
    assert db.session.scalar(select(func.count(TimelineEntry.id))) == timeline_count
    assert db.session.scalar(select(func.count(User.id))) == 5


def test_a_later_sheet_moves_commitments_forward_but_never_back(catalog, places, make):
    from campaign.imports.sheets import apply_plan

    staff = make.user(Role.STAFF)
    first = [MESSY_ROWS[2]]  # Bay County, introduced 2025-02-01
    apply_plan(new_batch(csv_bytes(first), staff), staff)
    db.session.commit()
    moved = [[*MESSY_ROWS[2][:7], "adopted", "2025-01-10", "2025-07-01", "", ""]]
    older = [[*MESSY_ROWS[2][:7], "pledged", "2025-01-10", "", "", ""]]
    plan = plan_for(csv_bytes(moved + older))
    assert [r.action for r in plan.rows] == [Action.UPDATE, Action.SKIP]
    apply_plan(new_batch(csv_bytes(moved), staff), staff)
    db.session.commit()
    commitment = db.session.scalar(select(Commitment))
    assert commitment.stage == Stage.PASSED
    assert commitment.stage_changed_on == date(2025, 7, 1)


def test_a_choice_made_by_staff_is_used(catalog, places, make):
    from campaign.imports.sheets import apply_plan

    staff = make.user(Role.STAFF)
    batch = new_batch(csv_bytes([MESSY_ROWS[3]]), staff)
    batch.choices_json = '{"j2": "35013"}'
    db.session.commit()
    plan = apply_plan(batch, staff)
    db.session.commit()
    assert [r.action for r in plan.rows] == [Action.CREATE]
    official = db.session.scalar(select(User).where(User.email == "cy@nm.example"))
    assert official.jurisdiction == places["dona_ana_county"]


def test_an_email_that_belongs_to_staff_is_not_turned_into_an_official(catalog, places, make):
    staff = make.user(Role.STAFF, email="boss@campaign.example")
    row = [*MESSY_ROWS[1]]
    row[1] = "Boss@Campaign.example"
    (planned,) = plan_for(csv_bytes([row])).rows
    assert planned.action == Action.FAIL
    assert "staff account" in planned.reason
    assert staff.role == Role.STAFF


def test_a_broken_utf16_file_is_read_with_replacement_characters_not_a_crash():
    sheet = read_sheet(b"\xff\xfeA", "broken.csv")  # a UTF-16 mark and half a character
    assert sheet.rows == []


def test_rows_say_what_the_import_fills_in_or_leaves_out(catalog, places, make):
    gone = make.user(email="gone@stpaul.example", jurisdiction=places["saint_paul"])
    gone.active = False
    db.session.commit()
    undated = [*MESSY_ROWS[0][:9], "", "https://stpaul.example/v/1", ""]  # passed, no stage date
    pledged = [*MESSY_ROWS[1][:10], "https://stpaul.example/v/2", ""]  # evidence on a pledge
    deactivated = [*MESSY_ROWS[1]]
    deactivated[1] = "gone@stpaul.example"
    rows = plan_for(csv_bytes([undated, pledged, deactivated])).rows
    assert "No date for “passed”: the pledge date is used." in rows[0].notes
    assert rows[1].evidence_url is None
    assert any("evidence link is not imported" in note for note in rows[1].notes)
    assert rows[2].action == Action.FAIL
    assert "deactivated" in rows[2].reason


def test_a_row_is_dated_by_the_rule_of_the_officials_own_form(catalog, places):
    """Tomorrow is accepted, as on the progress form (an official a time zone ahead); the day
    after, or a year before 2000, is refused in the form's words, for either date."""
    tomorrow, later = today() + timedelta(days=1), today() + timedelta(days=2)

    def row(pledged: date, updated: date | None = None) -> list[str]:
        return ["Ana Ruiz", "ana@stpaul.example", "Council Member", "Saint Paul", "MN", "",
                "Cancel ALPR contracts", "passed" if updated else "pledged",
                pledged.isoformat(), updated.isoformat() if updated else "", "", ""]  # fmt: skip

    for dates in [(tomorrow,), (date(2025, 1, 2), tomorrow)]:
        (planned,) = plan_for(csv_bytes([row(*dates)])).rows
        assert planned.action == Action.CREATE, planned.reason
    for dates, words in [
        ((later,), f"the pledge date {later.isoformat()} cannot be used: this date is in the"),
        ((date(2025, 1, 2), later), f"the stage date {later.isoformat()} cannot be used"),
        ((date(1999, 12, 31),), "cannot be used: enter a date after 1999"),
    ]:
        (planned,) = plan_for(csv_bytes([row(*dates)])).rows
        assert planned.action == Action.FAIL
        assert words in planned.reason.lower()
