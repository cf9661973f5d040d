"""An official signs up, confirms their address from the email, commits to two policies and
reports progress; staff verify them, and only then are they named in public. In a real
browser, with the confirmation read from the real SMTP server on loopback."""

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.catalog.operations import seed_catalog
from campaign.extensions import db
from campaign.places.gazetteer import load_gazetteer
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(app):
    seed_catalog()
    load_gazetteer()
    db.session.commit()


def confirmation_link(mailbox, live_server: str) -> str:
    """The link in the one message the sign-up sent: on the server's own address."""
    [message] = mailbox.wait_for(1)
    found = re.search(r"(http://\S+/signup/confirm/\S+)", message.get_content())
    assert found, message.get_content()
    assert found.group(1).startswith(live_server + "/")
    return found.group(1)


def test_official_signs_up_confirms_commits_reports_progress_and_staff_verify_them(
    visit, seeded, mailbox, make, browser, live_server
):
    make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")
    page = visit.page
    visit.goto("/")
    page.get_by_role("link", name="Sign up as an official").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign up as an official")
    visit.check_accessibility()

    page.get_by_label("Your full name").fill("Ana Díaz")
    page.get_by_label("Email").fill("ana.diaz@example.org")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_label("Office title").fill("City Councilmember")

    # Type-ahead: type part of the name, pick the right Saint Paul with the keyboard.
    picker = page.get_by_role("combobox", name="Jurisdiction you serve")
    picker.press_sequentially("st paul", delay=40)
    option = page.get_by_role("option", name=re.compile(r"^Saint Paul, MN"))
    expect(option).to_be_visible()
    visit.check_accessibility()
    while picker.get_attribute("aria-activedescendant") != option.get_attribute("id"):
        picker.press("ArrowDown")
    picker.press("Enter")
    expect(picker).to_have_value("Saint Paul, MN")

    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    visit.check_accessibility()

    page.goto(confirmation_link(mailbox, live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    visit.check_accessibility()
    page.get_by_role("button", name="Confirm my email address").click()
    expect(page.get_by_role("status")).to_contain_text("Your email address is confirmed.")
    visit.check_accessibility()
    page.get_by_label("Email").fill("ana.diaz@example.org")
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commit to policies")
    visit.check_accessibility()

    alpr = page.locator("fieldset.policy-choice", has_text="License Plate Reader")
    alpr.get_by_label("I commit to advancing this policy").check()
    sanctuary = page.locator("fieldset.policy-choice", has_text="robust sanctuary policies")
    sanctuary.get_by_label("I commit to advancing this policy").check()
    sanctuary.get_by_label("Counted, not named").check()
    sanctuary.get_by_label("Note for the campaign (optional)").fill("Keep my name off, please.")
    page.get_by_role("button", name="Record my commitments").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("your commitments are recorded")
    visit.check_accessibility()
    recorded = page.get_by_role("table")
    expect(recorded).to_contain_text("Cancel ALPR contracts")
    expect(recorded).to_contain_text("Robust sanctuary policies")
    expect(recorded).to_contain_text("Counted, not named")
    waiting = "Waiting for the campaign to confirm you"
    expect(page.locator("main")).to_contain_text(waiting)

    page.get_by_role("link", name="My commitments").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My commitments")
    expect(page.locator("main")).to_contain_text(waiting)
    visit.check_accessibility()
    rows = page.get_by_role("table").get_by_role("row")
    expect(rows).to_have_count(3)  # header and two commitments

    page.get_by_role("link", name="Report progress on Cancel ALPR contracts").click()
    visit.check_accessibility()
    page.get_by_label("New stage").select_option(label="Introduced")
    page.get_by_label("Evidence link (optional)").fill("https://stpaul.example.gov/agenda/118")
    page.get_by_role("button", name="Record progress").click()

    expect(page.get_by_role("status")).to_contain_text("Cancel ALPR contracts is now introduced")
    timeline = page.locator("ol.timeline")
    expect(timeline.locator("li")).to_have_count(2)
    expect(timeline.locator("li").first).to_contain_text("Introduced")
    expect(timeline).to_contain_text("https://stpaul.example.gov/agenda/118")
    expect(page.locator("main")).to_contain_text(waiting)
    visit.check_accessibility()

    # Nobody else sees Ana yet: not on the policy page, not on the map.
    public = browser.new_context(base_url=live_server).new_page()
    public.goto("/")
    public.get_by_role("link", name=re.compile("License Plate Reader|ALPR")).first.click()
    policy_url = public.url
    expect(public.locator("main")).not_to_contain_text("Ana Díaz")
    expect(public.locator("main")).not_to_contain_text("Saint Paul")
    public.goto("/map/")
    expect(public.locator("main")).not_to_contain_text("Saint Paul")

    # A staff member finds her first in the queue and verifies her.
    staff = browser.new_context(base_url=live_server).new_page()
    staff_visit = type(visit)(staff, live_server)
    staff_visit.goto("/login")
    staff.get_by_label("Email").fill("staff@example.org")
    staff.get_by_label("Password").fill(PASSWORD)
    staff.get_by_role("button", name="Sign in").click()
    staff_visit.goto("/staff/queue?owner=all")
    first = staff.get_by_role("row").nth(1)
    expect(first).to_contain_text("Ana Díaz")
    first.get_by_role("link", name=re.compile("New official to verify")).click()
    expect(staff.get_by_role("heading", level=1)).to_have_text("Verify Ana Díaz")
    main = staff.locator("main")
    for fact in ("City Councilmember", "Saint Paul, MN", "example.org", "Signed up on the site"):
        expect(main).to_contain_text(fact)
    staff_visit.check_accessibility()
    staff.get_by_role("button", name="Verify Ana Díaz").click()
    expect(staff.get_by_role("status")).to_contain_text("Ana Díaz is verified")
    staff_visit.check_accessibility()

    # Now she is named in public, and her own pages stop saying she is waiting.
    public.goto(policy_url)
    expect(public.locator("main")).to_contain_text("Ana Díaz")
    public.goto("/map/")
    expect(public.locator("main")).to_contain_text("Saint Paul")
    page.goto("/commitments/")
    expect(page.locator("main")).not_to_contain_text(waiting)
    staff_visit.assert_only_the_app_was_contacted()
    public.context.close()
    staff.context.close()


def test_sign_up_works_without_javascript_by_confirming_a_candidate(browser, live_server, seeded):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    page.goto("/signup")
    page.get_by_label("Your full name").fill("Ben Okafor")
    page.get_by_label("Email").fill("ben@example.org")
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_label("Office title").fill("County Commissioner")
    page.get_by_label("Jurisdiction you serve").fill("Bay County ")
    page.get_by_role("button", name="Create my account").click()

    expect(
        page.get_by_text("More than one place fits. Choose yours below.", exact=True)
    ).to_be_visible()
    page.get_by_label(re.compile(r"^Bay County, FL")).check()
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_role("button", name="Create my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    context.close()
    db.session.commit()  # a fresh read of what the server wrote
    ben = db.session.scalar(select(User).where(User.email == "ben@example.org"))
    assert ben.jurisdiction.label == "Bay County, FL"
