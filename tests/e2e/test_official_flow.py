"""An official signs up, commits to two policies and reports progress, in a real browser."""

import re

import pytest
from playwright.sync_api import expect

from campaign.catalog.operations import seed_catalog
from campaign.extensions import db
from campaign.places.gazetteer import load_gazetteer

pytestmark = pytest.mark.e2e


@pytest.fixture
def seeded(app):
    seed_catalog()
    load_gazetteer()
    db.session.commit()


def test_official_signs_up_commits_and_reports_progress(visit, seeded):
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

    page.get_by_role("link", name="My commitments").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My commitments")
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
    visit.check_accessibility()


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
    expect(page.get_by_role("heading", level=1)).to_have_text("Commit to policies")
    expect(page.locator("main")).to_contain_text("Bay County, FL")
    context.close()
