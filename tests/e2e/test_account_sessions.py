"""An official sees where they are signed in, signs one device out, then every device."""

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def sign_in(page, base_url: str) -> None:
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill("ana@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Account")).to_be_visible()


def test_official_signs_out_another_device_then_everywhere(visit, browser, live_server, make):
    make.user(email="ana@example.org", name="Ana Ruiz")
    phone_context = browser.new_context()
    phone = phone_context.new_page()
    try:
        sign_in(phone, live_server)
        page = visit.page
        sign_in(page, live_server)

        visit.goto("/account")
        devices = page.get_by_role("table")
        expect(devices).to_contain_text("2 signed-in devices")
        expect(devices).to_contain_text("(this device)")

        rows = page.get_by_role("row").filter(has=page.get_by_role("button"))
        other = rows.filter(has_not_text="this device")
        other.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("status")).to_contain_text("Signed out")
        expect(page.get_by_role("table")).to_contain_text("1 signed-in device")
        visit.check_accessibility()

        phone.goto(live_server + "/account")
        expect(phone.get_by_role("heading", level=1)).to_have_text("Sign in")

        page.get_by_role("button", name="Sign out everywhere").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
        expect(page.get_by_role("status")).to_contain_text("signed out on every device")
        page.goto(live_server + "/account")
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    finally:
        phone_context.close()
