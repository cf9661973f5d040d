"""A staff member sets up an authenticator app, then signs in with password and code.

As in production, the staff account is sent to enrol before any staff page. The test reads
the key the page shows as the QR code's text alternative and computes codes with pyotp, as
a phone app would; a wrong code is refused, and a recovery code works once and not twice.
axe-core checks every page on the way.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import expect

from campaign.accounts.roles import Role
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e


def password_step(visit) -> None:
    page = visit.page
    visit.goto("/login")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def code_step(visit, code: str) -> None:
    page = visit.page
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
    visit.check_accessibility()
    field = page.get_by_label("Code from your authenticator app, or a recovery code")
    field.fill(code)
    field.press("Enter")  # by keyboard


def sign_out(visit) -> None:
    visit.page.get_by_role("button", name="Sign out", exact=True).click()
    expect(visit.page.get_by_role("status")).to_contain_text("You are signed out.")


def test_staff_enrol_then_sign_in_with_a_code_and_a_recovery_code_once(
    visit, app, make, monkeypatch
):
    monkeypatch.setitem(app.config, "REQUIRE_STAFF_SECOND_FACTOR", True)
    make.user(Role.STAFF, email="sam@example.org", name="Sam Staff")
    page = visit.page

    # Signed in with the password alone, the staff member is sent to enrol first.
    password_step(visit)
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up a second factor")
    expect(page.get_by_role("status")).to_contain_text("Staff accounts need a second factor")
    visit.check_accessibility()
    expect(page.get_by_role("img", name="QR code of your key")).to_be_visible()
    key = page.locator("#second-factor-key").inner_text()
    totp = pyotp.TOTP(re.sub(r"\s", "", key))
    page.get_by_label("Code from your authenticator app").fill(totp.now())
    page.get_by_role("button", name="Turn on the second factor").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Save your recovery codes")
    visit.check_accessibility()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    recovery = codes.nth(0).inner_text().strip()
    page.get_by_role("link", name="I have saved them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    sign_out(visit)

    # Password, then a wrong code: refused with a message, not signed in.
    password_step(visit)
    now = {totp.at(time.time() + 30 * k) for k in (-1, 0, 1, 2)}
    wrong = next(c for c in ("000000", "111111", "222222", "333333", "444444") if c not in now)
    code_step(visit, wrong)
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")
    visit.check_accessibility()
    expect(page.get_by_role("link", name="Account")).to_have_count(0)

    # The right code (the app's next one: the enrolment used this step's) signs in.
    field = page.get_by_label("Code from your authenticator app, or a recovery code")
    field.fill(totp.at(time.time() + 30))
    field.press("Enter")
    expect(page.get_by_role("link", name="Queue")).to_be_visible()
    visit.check_accessibility()
    sign_out(visit)

    # A recovery code works once...
    password_step(visit)
    code_step(visit, recovery)
    expect(page.get_by_role("status")).to_contain_text(
        "You signed in with a recovery code; it cannot be used again. 9 codes left."
    )
    visit.check_accessibility()
    sign_out(visit)

    # ...and not twice.
    password_step(visit)
    code_step(visit, recovery)
    expect(page.get_by_role("alert")).to_contain_text("That code is not right.")
    expect(page.get_by_role("link", name="Account")).to_have_count(0)
    visit.goto("/staff/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
