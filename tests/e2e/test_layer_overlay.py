"""Reference layers in a real browser: staff bring a list in, anyone switches it on the map."""

import pytest
from playwright.sync_api import expect

from campaign.accounts.roles import Role
from tests.factories import PASSWORD
from tests.test_layer_targets import BAY, HEADERS, KNOX, MESA, SMITH
from tests.test_layer_targets import campaign_with_layer as campaign_with_layer  # fixture
from tests.test_layers import xlsx_bytes

pytestmark = pytest.mark.e2e


def test_the_overlay_is_switched_on_by_its_label_and_kept_in_the_url(visit, campaign_with_layer):
    page = visit.page
    visit.goto("/map/")
    expect(page.locator("path.layer-marker")).to_have_count(0)

    switch = page.get_by_label("Show 287(g) agreements")
    switch.check()
    expect(switch).to_have_attribute("data-layer-loaded", "1")
    expect(page.locator("path.layer-marker")).to_have_count(4)
    expect(page.locator("path.layer-marker.layer-listed")).to_have_count(4)
    expect(page.locator(".layer-legend")).to_contain_text("287(g) agreements (as of 2026-01-15)")
    assert "layer=287g-agreements" in page.url
    visit.check_accessibility()

    switch.uncheck()
    expect(page.locator("path.layer-marker")).to_have_count(0)
    expect(page.locator(".layer-legend")).to_have_count(0)
    assert "layer=" not in page.url

    # the URL alone brings the layer back, with its table for those not using the map
    visit.goto("/map/?layer=287g-agreements")
    expect(page.get_by_label("Show 287(g) agreements")).to_be_checked()
    expect(page.locator("path.layer-marker")).to_have_count(4)
    expect(
        page.get_by_role("heading", name="287(g) agreements: jurisdictions on the list")
    ).to_be_visible()


def test_staff_bring_a_list_in_from_the_browser(visit, make, catalog, campaign_with_layer,
                                                 tmp_path):  # fmt: skip
    make.user(Role.STAFF, email="staff@example.org", name="Sam Staff")
    newer = tmp_path / "participating-2026-06-01.xlsx"
    newer.write_bytes(xlsx_bytes(HEADERS, [MESA, SMITH, BAY]))
    page = visit.page
    visit.goto("/login")
    page.get_by_label("Email").fill("staff@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.get_by_role("link", name="Layers", exact=True).click()
    visit.check_accessibility()
    page.get_by_label("Layer", exact=True).fill("287(g) agreements")
    page.get_by_label("Policy it concerns").select_option(label="End 287(g) and task forces")
    page.get_by_label("List as of").fill("2026-06-01")
    page.get_by_label("The list (XLSX or CSV, as published)").set_input_files(str(newer))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Match the columns")
    expect(page.get_by_label("Agency (required)")).to_have_value("LAW ENFORCEMENT AGENCY")
    visit.check_accessibility()
    page.get_by_role("button", name="Use these columns").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dry run of")
    visit.check_accessibility()
    expect(page.locator("#ended").locator("..")).to_contain_text("Knox County Sheriff’s Office")
    page.get_by_role("button", name="Import now").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import of")
    expect(page.get_by_role("row", name="No longer listed")).to_contain_text("1")
    visit.check_accessibility()
    assert KNOX[1] not in page.get_by_role("table").inner_text()
