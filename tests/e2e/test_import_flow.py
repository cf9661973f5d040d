"""Staff bring the helpdesk's history in through a real browser: a spreadsheet, then mail."""

import mailbox as stdlib_mailbox
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from campaign.accounts.roles import Role
from campaign.places.models import JurisdictionKind
from tests.factories import PASSWORD
from tests.test_import_mailbox import message
from tests.test_import_spreadsheet import MESSY_ROWS, csv_bytes

pytestmark = pytest.mark.e2e


def test_staff_import_a_spreadsheet_and_triage_an_email(visit, make, catalog, tmp_path):
    make.jurisdiction("Saint Paul", "MN", key="gn5045360", population=300000)
    make.jurisdiction("Bay County", "FL", JurisdictionKind.COUNTY, key="12005")
    make.jurisdiction("Doña Ana", "NM", key="gn5464806")
    make.jurisdiction("Doña Ana County", "NM", JurisdictionKind.COUNTY, key="35013")
    make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")
    sheet = tmp_path / "helpdesk.csv"
    # Two officials of Doña Ana write it alike: one question settles both rows.
    neighbour = ["Eva Luna", "eva@nm.example", "Trustee", "DONA ANA ", "New Mexico", "",
                 "Robust sanctuary policies", "", "2025-04-03", "", "", ""]  # fmt: skip
    sheet.write_bytes(csv_bytes([*MESSY_ROWS[:5], neighbour]))
    box = stdlib_mailbox.mbox(tmp_path / "helpdesk.mbox")
    when = datetime(2025, 3, 5, tzinfo=UTC)
    text = "Bay County pledges a sanctuary policy."
    box.add(
        message("Bo Lee <bo@bay.example>", "Sanctuary", text, msgid="b1@bay.example", when=when)
    )
    box.close()

    page = visit.page
    visit.goto("/login")
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Imports", exact=True).click()
    visit.check_accessibility()
    page.get_by_label("Spreadsheet (CSV or XLSX)").set_input_files(str(sheet))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Match the columns")
    visit.check_accessibility()
    page.get_by_role("button", name="Use these columns").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dry run")
    visit.check_accessibility()
    spelling = page.get_by_role("row").filter(has_text="Which “Dona Ana, NM”?")
    expect(spelling).to_have_count(1)
    expect(spelling.get_by_role("cell").first).to_contain_text("rows 5, 7")
    page.get_by_label("Which “Dona Ana, NM”?").select_option(label="Doña Ana County, NM — County")
    page.get_by_role("button", name="Save choices and check again").click()
    expect(page.get_by_role("heading", name="Needs a choice (0)")).to_be_visible()
    visit.check_accessibility()
    page.get_by_role("button", name="Import now").click()
    expect(page.get_by_role("status")).to_contain_text("6 commitments created")
    visit.check_accessibility()

    page.get_by_role("link", name="Imports", exact=True).click()
    page.get_by_label("Mailbox export").set_input_files(str(tmp_path / "helpdesk.mbox"))
    page.get_by_role("button", name="Import messages").click()
    expect(page.get_by_role("status")).to_contain_text("1 new messages to triage")
    visit.check_accessibility()
    page.get_by_role("link", name="Triage").first.click()
    visit.check_accessibility()
    page.get_by_role("link", name="Sanctuary").click()
    visit.check_accessibility()
    expect(page.get_by_label("Official's email")).to_have_value("bo@bay.example")
    expect(page.get_by_label("Robust sanctuary policies")).to_be_checked()
    page.get_by_label("Official's name").fill("Bo Lee")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("status")).to_contain_text("Accepted: 1 commitments recorded")
