"""Reference layers: ICE's real May 2025 287(g) lists placed on the gazetteer, snapshots over
time, idempotence, and the import-layer command."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from campaign.accounts.roles import Role
from campaign.extensions import db
from campaign.imports.spreadsheet import read_sheet
from campaign.layers.models import LayerAgreement, LayerSnapshot, LayerStatus, ReferenceLayer
from campaign.layers.placement import Placement, strip_agency_words
from campaign.layers.snapshots import (
    Change,
    LayerImportRefused,
    apply_snapshot,
    get_or_create_layer,
    guess_layer_mapping,
    plan_snapshot,
)
from campaign.places.gazetteer import load_gazetteer
from campaign.places.models import Jurisdiction

DATA = Path("/work/shared/data/ice-287g")
PARTICIPATING = DATA / "participating-agencies-2025-05-16.xlsx"
PENDING = DATA / "pending-agencies-2025-05-15.xlsx"
POLICY = "end-287g-and-task-forces"
pytestmark = pytest.mark.skipif(not PARTICIPATING.exists(), reason="ICE lists not present")


@pytest.fixture
def gazetteer(app):
    load_gazetteer()
    db.session.commit()


@pytest.fixture
def layer(catalog, gazetteer):
    policy = next(p for p in catalog if p.slug == POLICY)
    layer = get_or_create_layer("287(g) agreements", policy, "ICE, public domain")
    db.session.commit()
    return layer


def sheet_of(path: Path):
    return read_sheet(path.read_bytes(), path.name)


def import_list(layer, path=PARTICIPATING, on=date(2025, 5, 16), status=LayerStatus.PARTICIPATING,
                sheet=None, choices=None):  # fmt: skip
    sheet = sheet or sheet_of(path)
    applied = apply_snapshot(
        layer, status, on, sheet, guess_layer_mapping(sheet.headers), choices, None, path.name
    )
    db.session.commit()
    return applied


def xlsx_bytes(headers, rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def by_key(key: str) -> Jurisdiction:
    return db.session.scalar(select(Jurisdiction).where(Jurisdiction.key == key))


@pytest.mark.parametrize(
    ("agency", "place"),
    [
        ("Colbert County Sheriff's Office", "colbert county"),
        ("Knox County Sheriff’s Office", "knox county"),
        ("Berrian County Sheriff's Offic", "berrian county"),
        ("Franklin County Sheriffs Office", "franklin county"),
        ("Mesa Police Department", "mesa"),
        ("Indian River Shores Department of Public Safety", "indian river shores"),
        ("Daytona Beach Shores Public Safety", "daytona beach shores"),
        ("Derry Township Constable's Office", "derry township"),
        ("Hollywood Police Department ", "hollywood"),
    ],
)
def test_agency_words_are_stripped_to_the_place_they_name(agency, place):
    assert strip_agency_words(agency) == place


def test_the_may_2025_participating_list_is_placed_and_every_unplaced_row_says_why(layer):
    sheet = sheet_of(PARTICIPATING)
    plan = plan_snapshot(
        layer, LayerStatus.PARTICIPATING, date(2025, 5, 16), sheet,
        guess_layer_mapping(sheet.headers),
    )  # fmt: skip
    counts = plan.placement_counts
    print(
        f"\nMay 2025 participating list: {len(plan.importable)} agreements, "
        f"{counts[Placement.PLACED]} placed ({plan.placed_share:.1%}), "
        f"{counts[Placement.CHOOSE]} need a choice, {counts[Placement.UNPLACED]} unplaced"
    )
    assert len(plan.importable) == 571
    assert plan.placed_share > 0.9
    for row in plan.of(Placement.CHOOSE) + plan.of(Placement.UNPLACED):
        print(f"  row {row.number}: {row.agency} ({row.state}): {row.reason}")
        # a sentence that names what was looked for
        assert row.reason.endswith(".") and len(row.reason) > 30, (row.number, row.reason)
        assert any(w in row.reason for w in ("county", "city or town", "university")), row.reason
    rows = {row.number: row for row in plan.rows}
    # a county sheriff on its county, once per support type
    assert rows[2].jurisdiction == rows[3].jurisdiction == by_key("01033")  # Colbert County, AL
    assert rows[2].support_type != rows[3].support_type
    # a municipal police department on its city; a state agency on the state
    assert rows[16].jurisdiction.name == "Mesa" and rows[16].jurisdiction.state == "AZ"
    assert rows[13].jurisdiction == by_key("04")  # Arizona Department of Corrections
    # the COUNTY column beats the agency's own words ("Miami Dade Corrections")
    assert rows[177].jurisdiction == by_key("12086")
    # a university's police is offered with its state, never placed alone
    assert rows[264].placement == Placement.CHOOSE
    assert by_key("12") in [m.jurisdiction for m in rows[264].candidates]
    assert "university" in rows[264].reason
    # a misspelt county is a choice with the right one offered
    assert rows[337].placement == Placement.CHOOSE
    assert rows[337].candidates[0].jurisdiction == by_key("26021")  # Berrien County, MI


def test_importing_the_same_list_twice_changes_nothing(layer):
    first = import_list(layer)
    assert first.created == 571
    before = db.session.execute(
        select(LayerAgreement.id, LayerAgreement.jurisdiction_id, LayerAgreement.last_snapshot_id,
               LayerAgreement.ended_snapshot_id, LayerAgreement.unplaced_reason)
        .order_by(LayerAgreement.id)
    ).all()  # fmt: skip
    again = import_list(layer)
    assert again.changed_nothing
    assert {r.change for r in again.plan.rows} == {Change.PRESENT}
    after = db.session.execute(
        select(LayerAgreement.id, LayerAgreement.jurisdiction_id, LayerAgreement.last_snapshot_id,
               LayerAgreement.ended_snapshot_id, LayerAgreement.unplaced_reason)
        .order_by(LayerAgreement.id)
    ).all()  # fmt: skip
    assert before == after
    assert db.session.scalar(select(func.count(LayerSnapshot.id))) == 1
    unplaced = db.session.scalars(
        select(LayerAgreement).where(LayerAgreement.jurisdiction_id.is_(None))
    ).all()
    assert unplaced and all(a.unplaced_reason for a in unplaced)


def test_a_newer_list_records_new_agreements_and_the_ones_no_longer_listed(layer):
    import_list(layer)
    sheet = sheet_of(PARTICIPATING)
    dropped = {2, 3, 16}  # Colbert County (both types) and Mesa leave the list
    rows = [cells for number, cells in sheet.rows if number not in dropped]
    rows.append(["ARIZONA", "Pima County Sheriff's Office", "County", "Pima County",
                 "Task Force Model", "2025-07-01", "link", *[""] * 6])  # fmt: skip
    newer = read_sheet(xlsx_bytes(sheet.headers, rows), "participating-2025-07-18.xlsx")
    applied = import_list(layer, on=date(2025, 7, 18), sheet=newer)
    assert (applied.created, applied.ended, applied.relisted) == (1, 3, 0)
    ended = db.session.scalars(
        select(LayerAgreement).where(LayerAgreement.ended_snapshot_id.is_not(None))
    ).all()
    assert {a.agency for a in ended} == {
        "Colbert County Sheriff's Office",
        "Mesa Police Department",
    }
    assert {a.ended_snapshot.as_of for a in ended} == {date(2025, 7, 18)}
    pima = db.session.scalar(
        select(LayerAgreement).where(LayerAgreement.agency == "Pima County Sheriff's Office")
    )
    assert pima.jurisdiction == by_key("04019")
    assert pima.signed_on == date(2025, 7, 1)
    # the May list again would go back in time
    with pytest.raises(LayerImportRefused, match="import lists in the order of their dates"):
        import_list(layer)
    db.session.rollback()
    # a later list that has Mesa again: listed again, no longer ended
    back = read_sheet(xlsx_bytes(sheet.headers, [cells for _n, cells in sheet.rows]), "x.xlsx")
    relisted = import_list(layer, on=date(2025, 8, 1), sheet=back)
    assert relisted.relisted == 3 and relisted.ended == 1  # Pima is gone from this one


def test_the_pending_list_is_its_own_status_and_choices_place_rows(layer):
    sheet = sheet_of(PENDING)
    plan = plan_snapshot(
        layer, LayerStatus.PENDING, date(2025, 5, 15), sheet, guess_layer_mapping(sheet.headers)
    )
    university = next(r for r in plan.rows if r.agency.startswith("University of North Florida"))
    assert university.placement == Placement.CHOOSE
    applied = import_list(
        layer, PENDING, date(2025, 5, 15), LayerStatus.PENDING,
        choices={university.choice_key: "12"},
    )  # fmt: skip
    assert applied.created == 92
    statuses = set(db.session.scalars(select(LayerAgreement.status).distinct()))
    assert statuses == {LayerStatus.PENDING}
    placed = db.session.scalar(
        select(LayerAgreement).where(LayerAgreement.agency == university.agency)
    )
    assert placed.jurisdiction == by_key("12")
    # Allegany's misspelt COUNTY cell ("Allegancy") is read from the agency's own words
    allegany = next(r for r in plan.rows if r.agency == "Allegany County Sheriff's Office")
    assert allegany.jurisdiction == by_key("24001")


def test_rows_without_an_agency_or_a_state_and_repeated_rows_are_reported(layer):
    headers = ["STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE"]
    rows = [
        ["TEXAS", "Smith County Sheriff’s Office", "County", "Smith County", "Task Force Model"],
        ["TEXAS", "Smith County Sheriff's Office ", "County", "Smith County", "Task Force Model"],
        ["ATLANTIS", "Poseidon Police Department", "Municipality", "#N/A", "Task Force Model"],
        ["TEXAS", "", "County", "", "Task Force Model"],
    ]
    sheet = read_sheet(xlsx_bytes(headers, rows), "odd.xlsx")
    plan = plan_snapshot(
        layer, LayerStatus.PARTICIPATING, date(2025, 6, 1), sheet,
        guess_layer_mapping(sheet.headers),
    )  # fmt: skip
    changes = {row.number: (row.change, row.reason) for row in plan.rows}
    assert changes[2][0] == Change.NEW
    assert changes[3] == (Change.DUPLICATE, "Same agency and support type as row 2.")
    assert changes[4] == (Change.FAIL, "The state “ATLANTIS” is not a US state.")
    assert changes[5] == (Change.FAIL, "No agency is named in this row.")


def test_import_layer_is_a_dry_run_until_told_to_commit(runner, make, catalog, gazetteer):
    args = ["import-layer", str(PARTICIPATING), "--layer", "287(g) agreements",
            "--policy", POLICY, "--as-of", "2025-05-16"]  # fmt: skip
    dry = runner.invoke(args=args)
    assert dry.exit_code == 0, dry.output
    assert "agency         ← LAW ENFORCEMENT AGENCY" in dry.output
    assert "571 rows" in dry.output and "placed share" in dry.output
    assert "row 264: Needs a choice: University of Florida Police Department (FL)" in dry.output
    # Sewickley Township is placed since places read "X Township"; Damascus is not listed.
    assert "Cannot be placed: Damascus Township Constable (PA): No city or town" in dry.output
    assert "Dry run: nothing was written" in dry.output
    assert db.session.scalar(select(func.count(LayerAgreement.id))) == 0
    assert db.session.scalar(select(func.count(ReferenceLayer.id))) == 0

    refused = runner.invoke(args=[*args, "--commit"])
    assert refused.exit_code != 0 and "--by" in refused.output
    staff = make.user(Role.STAFF, email="staff@campaign.example")
    done = runner.invoke(args=[*args, "--commit", "--by", staff.email])
    assert done.exit_code == 0, done.output
    assert "Imported: 571 new agreements" in done.output
    again = runner.invoke(args=[*args, "--commit", "--by", staff.email])
    assert "Imported: nothing changed" in again.output
    assert db.session.scalar(select(func.count(LayerAgreement.id))) == 571
    pending = runner.invoke(
        args=["import-layer", str(PENDING), "--layer", "287(g) agreements", "--policy", POLICY,
              "--as-of", "2025-05-15", "--status", "pending", "--commit", "--by", staff.email]
    )  # fmt: skip
    assert "Imported: 92 new agreements" in pending.output
    other = runner.invoke(
        args=["import-layer", str(PENDING), "--layer", "287(g) agreements",
              "--policy", "cancel-alpr-contracts", "--as-of", "2025-05-15"]
    )  # fmt: skip
    assert other.exit_code != 0 and "concerns" in other.output
