"""A staff member works the follow-up queue in a real browser."""

import pytest
from playwright.sync_api import expect

from campaign.accounts.roles import Role
from campaign.timeutil import today
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def test_staff_logs_a_call_and_the_pledge_leaves_todays_queue(visit, make, catalog):
    official = make.user(name="Rosa Newpledge", email="rosa@example.org")
    make.commitment(official, catalog[0], pledged_on=today())
    make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")

    page = visit.page
    visit.goto("/login")
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Follow-up queue").click()
    page.get_by_label("Owner").select_option("all")
    page.get_by_role("button", name="Show").click()
    visit.check_accessibility()
    row = page.get_by_role("row", name="Rosa Newpledge")
    expect(row).to_contain_text("New pledge, never contacted")

    row.get_by_role("link", name="Rosa Newpledge").click()
    visit.check_accessibility()
    page.get_by_label("Call").check()
    page.get_by_label("What was said").fill("Will send model language by Friday.")
    page.get_by_label("Next follow-up (optional)").fill(
        today().replace(year=today().year + 1).isoformat()
    )
    page.get_by_role("button", name="Log contact").click()
    expect(page.get_by_role("status")).to_contain_text("Contact logged.")
    expect(page.locator("main")).to_contain_text("Will send model language by Friday.")

    page.get_by_role("link", name="Follow-up queue").first.click()
    page.get_by_label("Owner").select_option("all")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("table")).not_to_contain_text("Rosa Newpledge")
    expect(page.get_by_role("table")).to_contain_text("Nothing needs attention")
