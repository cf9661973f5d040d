"""A second factor for staff and admins: an authenticator app's code after the password.

Staff accounts read every official's contact details, so a phished password must not be
enough. These tests enrol through the pages as a person would (reading the key from the
page, computing codes with pyotp as a phone app does), sign in in two steps, use recovery
codes, and have an admin reset a lost factor.
"""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import func, select

from campaign import create_app
from campaign.accounts.models import RecoveryCode, SecondFactor, UserSession
from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.config import ProductionConfig, TestingConfig
from campaign.extensions import db
from tests.conftest import form_errors
from tests.factories import PASSWORD

WRONG_CODE = (
    "That code is not right. Enter the 6-digit code your authenticator app shows now, "
    "or one of your recovery codes."
)


@pytest.fixture
def staff(make):
    return make.user(Role.STAFF, email="sam@example.org", name="Sam Staff")


def key_on(page: str) -> str:
    return re.search(r'<code id="second-factor-key">([A-Z2-7 ]+)</code>', page).group(1)


def code(secret: str, *, steps_ahead: int = 0) -> str:
    """What the phone shows now (or `steps_ahead` 30-second steps later)."""
    return pyotp.TOTP(secret.replace(" ", "")).at(time.time() + 30 * steps_ahead)


def enrol(client) -> tuple[str, list[str]]:
    """Enrol the signed-in user through the page; the key and the recovery codes shown."""
    secret = key_on(client.get("/account/second-factor").get_data(as_text=True))
    page = client.post("/account/second-factor", data={"code": code(secret)})
    assert page.status_code == 200, form_errors(page)
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.get_data(as_text=True))
    return secret, codes


def password_step(client, email: str = "sam@example.org", **extra):
    return client.post("/login", data={"email": email, "password": PASSWORD, **extra})


def signed_in(client) -> bool:
    return client.get("/account").status_code == 200


def audit(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


@pytest.fixture
def enrolled(client, auth, staff):
    """Sam has enrolled and signed out; returns the key and recovery codes."""
    auth.login("sam@example.org")
    secret, codes = enrol(client)
    client.post("/logout")
    return secret, codes


def test_the_enrolment_page_draws_the_qr_code_itself_and_shows_the_key(client, auth, staff):
    auth.login("sam@example.org")
    response = client.get("/account/second-factor")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert "<title>QR code of your key</title>" in svg
    assert "<image" not in svg and "href" not in svg  # drawn paths, nothing fetched
    assert re.fullmatch(r"(?:[A-Z2-7]{4} ){7}[A-Z2-7]{4}", key_on(page))
    # The key stays the same until confirmed, and nothing is saved by looking.
    assert key_on(client.get("/account/second-factor").get_data(as_text=True)) == key_on(page)
    assert db.session.scalar(select(func.count()).select_from(SecondFactor)) == 0


def test_a_wrong_code_at_enrolment_is_refused_and_turns_nothing_on(client, auth, staff):
    auth.login("sam@example.org")
    secret = key_on(client.get("/account/second-factor").get_data(as_text=True))
    wrong = f"{(int(code(secret)) + 1) % 1_000_000:06d}"
    response = client.post("/account/second-factor", data={"code": wrong})
    assert response.status_code == 422
    assert form_errors(response) == [
        "That code is not right. Enter the 6-digit code your app shows for this key now."
    ]
    assert db.session.get(SecondFactor, staff.id) is None


def test_enrolment_shows_ten_recovery_codes_once_and_keeps_only_their_hashes(client, auth, staff):
    auth.login("sam@example.org")
    _secret, codes = enrol(client)
    assert len(codes) == len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z2-9]{4}(?:-[a-z2-9]{4}){3}", c) for c in codes)
    stored = list(db.session.scalars(select(RecoveryCode.code_hash)))
    assert len(stored) == 10
    assert not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    status = client.get("/account/second-factor").get_data(as_text=True)
    assert "10 unused recovery codes" in status
    assert codes[0] not in status
    [entry] = audit("user.second_factor_enrolled")
    assert entry.subject_id == staff.id


def test_enrolling_signs_out_other_devices_opened_with_the_password_alone(app, client, auth, staff):
    other = app.test_client()
    password_step(other)
    assert signed_in(other)
    auth.login("sam@example.org")
    enrol(client)
    assert not signed_in(other)
    assert signed_in(client)


def test_sign_in_asks_for_the_code_after_the_password(client, enrolled):
    secret, _codes = enrolled
    response = password_step(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/login/code"
    assert not signed_in(client)  # the password alone opens nothing
    page = client.get("/login/code")
    assert page.status_code == 200
    assert "Code from your authenticator app, or a recovery code" in page.get_data(as_text=True)

    done = client.post("/login/code", data={"code": code(secret, steps_ahead=1)})
    assert done.status_code == 302
    assert signed_in(client)


def test_a_wrong_code_is_refused_with_a_clear_message_and_signs_nobody_in(client, enrolled):
    secret, _codes = enrolled
    password_step(client)
    wrong = f"{(int(code(secret, steps_ahead=1)) + 1) % 1_000_000:06d}"
    for attempt in (wrong, "abc", "12345678"):
        response = client.post("/login/code", data={"code": attempt})
        assert response.status_code == 422
        assert form_errors(response) == [WRONG_CODE]
    assert not signed_in(client)
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 0


def test_a_code_works_once(app, client, enrolled):
    secret, _codes = enrolled
    used = code(secret, steps_ahead=1)
    password_step(client)
    assert client.post("/login/code", data={"code": used}).status_code == 302
    other = app.test_client()
    password_step(other)
    replay = other.post("/login/code", data={"code": used})
    assert replay.status_code == 422
    assert form_errors(replay) == [WRONG_CODE]
    assert not signed_in(other)


def test_a_recovery_code_works_once_and_says_how_many_are_left(client, enrolled):
    _secret, codes = enrolled
    password_step(client)
    # Typed as people do: upper case, spaces for hyphens.
    response = client.post(
        "/login/code", data={"code": codes[3].upper().replace("-", " ")}, follow_redirects=True
    )
    assert "You signed in with a recovery code; it cannot be used again. 9 codes left." in (
        response.get_data(as_text=True)
    )
    assert signed_in(client)
    [entry] = audit("user.recovery_code_used")
    assert "(9 left)" in entry.summary
    client.post("/logout")

    password_step(client)
    again = client.post("/login/code", data={"code": codes[3]})
    assert again.status_code == 422
    assert form_errors(again) == [WRONG_CODE]
    assert not signed_in(client)


def test_the_code_step_needs_a_fresh_right_password(client, enrolled):
    secret, _codes = enrolled
    nothing = client.get("/login/code")
    assert nothing.status_code == 302
    assert nothing.headers["Location"].startswith("/login")
    assert client.post("/login/code", data={"code": code(secret)}).status_code == 302
    assert not signed_in(client)

    password_step(client)
    with client.session_transaction() as session:
        pending = session["second_factor_pending"]
        session["second_factor_pending"] = {**pending, "since": pending["since"] - 3600}
    late = client.post("/login/code", data={"code": code(secret, steps_ahead=1)})
    assert late.headers["Location"].startswith("/login")
    assert not signed_in(client)


def test_a_wrong_password_never_reaches_the_code_step(client, enrolled):
    response = client.post("/login", data={"email": "sam@example.org", "password": "nope"})
    assert response.status_code == 422
    assert client.get("/login/code").status_code == 302


def test_keep_me_signed_in_survives_the_code_step(client, enrolled):
    secret, _codes = enrolled
    password_step(client, remember="y")
    response = client.post("/login/code", data={"code": code(secret, steps_ahead=1)})
    assert "remember_token=" in " ".join(response.headers.getlist("Set-Cookie"))


def test_the_code_step_keeps_a_safe_next_page_and_drops_another_site(client, enrolled):
    secret, _codes = enrolled
    response = client.post(
        "/login?next=/staff/queue", data={"email": "sam@example.org", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/login/code?next=/staff/queue"
    done = client.post("/login/code?next=/staff/queue", data={"code": code(secret, steps_ahead=1)})
    assert done.headers["Location"] == "/staff/queue"
    client.post("/logout")
    evil = client.post(
        "/login?next=//evil.example", data={"email": "sam@example.org", "password": PASSWORD}
    )
    assert evil.headers["Location"] == "/login/code"


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_STAFF_SECOND_FACTOR", True)


def test_where_required_staff_are_sent_to_enrol_before_any_staff_page(
    client, auth, staff, required
):
    auth.login("sam@example.org")
    for path in ("/staff/queue", "/directory/officials.csv", "/staff/audit/", "/account"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"] == "/account/second-factor"
    page = client.get("/account/second-factor").get_data(as_text=True)
    assert "Staff accounts can read every official's contact details" in page
    enrol(client)
    assert client.get("/staff/queue").status_code == 200


def test_where_required_an_admin_is_sent_to_enrol_too(client, auth, make, required):
    make.user(Role.ADMIN, email="ada@example.org")
    auth.login("ada@example.org")
    assert client.get("/admin/users").headers["Location"] == "/account/second-factor"


def test_where_required_officials_and_organizers_are_not_asked(
    client, auth, make, catalog, required
):
    make.user(email="ana@example.org")
    auth.login("ana@example.org")
    assert client.get("/commitments/").status_code == 200
    client.post("/logout")
    make.user(Role.ORGANIZER, email="olu@example.org")
    auth.login("olu@example.org")
    assert client.get("/dashboard/").status_code == 200


def test_an_unenrolled_staff_member_can_still_sign_out(client, auth, staff, required):
    auth.login("sam@example.org")
    assert client.post("/logout").status_code == 302
    assert not signed_in(client)


def test_production_requires_it_and_development_and_tests_do_not():
    assert ProductionConfig.REQUIRE_STAFF_SECOND_FACTOR is True
    assert TestingConfig.REQUIRE_STAFF_SECOND_FACTOR is False
    assert create_app({"ENV_NAME": "development"}).config["REQUIRE_STAFF_SECOND_FACTOR"] is False


def test_an_admin_resets_a_lost_factor_audited_and_the_person_is_signed_out(
    app, client, auth, make, staff
):
    make.user(Role.ADMIN, email="ada@example.org", name="Ada Admin")
    sam = app.test_client()
    password_step(sam)
    enrol(sam)

    auth.login("ada@example.org")
    users = client.get("/admin/users?q=sam").get_data(as_text=True)
    assert "the second factor of Sam Staff" in users
    response = client.post(f"/admin/users/{staff.id}/second-factor/reset", follow_redirects=True)
    assert "Second factor of Sam Staff reset; they are signed out everywhere." in (
        response.get_data(as_text=True)
    )
    assert db.session.get(SecondFactor, staff.id) is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert not signed_in(sam)
    [entry] = audit("user.second_factor_reset")
    assert entry.actor.name == "Ada Admin" and entry.subject_id == staff.id
    assert "Second factor of Sam Staff reset" in client.get("/staff/audit/").get_data(as_text=True)

    # Sam signs in with the password alone again, and may enrol anew.
    assert password_step(sam).headers["Location"] != "/login/code"
    assert signed_in(sam)


def test_an_admin_cannot_reset_their_own_factor(client, auth, make):
    admin = make.user(Role.ADMIN, email="ada@example.org")
    auth.login("ada@example.org")
    enrol(client)
    response = client.post(f"/admin/users/{admin.id}/second-factor/reset", follow_redirects=True)
    assert "You cannot reset your own second factor" in response.get_data(as_text=True)
    assert db.session.get(SecondFactor, admin.id) is not None
    assert audit("user.second_factor_reset") == []


def test_resetting_an_account_without_a_factor_says_so(client, auth, make, staff):
    make.user(Role.ADMIN, email="ada@example.org")
    auth.login("ada@example.org")
    response = client.post(f"/admin/users/{staff.id}/second-factor/reset", follow_redirects=True)
    assert "Sam Staff has no second factor to reset." in response.get_data(as_text=True)


def test_the_account_page_links_to_the_second_factor(client, auth, staff):
    auth.login("sam@example.org")
    page = client.get("/account").get_data(as_text=True)
    assert "Set up an authenticator app" in page and "(staff accounts need one)" in page
    enrol(client)
    assert "Your authenticator app and recovery codes" in client.get("/account").get_data(
        as_text=True
    )


def test_a_password_reset_link_still_asks_for_the_code(client, enrolled, staff):
    from campaign.accounts.reset import make_reset_token

    secret, _codes = enrolled
    token = make_reset_token(staff)
    new = "a brand new passphrase"
    response = client.post(f"/password/reset/{token}", data={"password": new, "confirm": new})
    assert response.headers["Location"] == "/login/code"
    assert not signed_in(client)
    assert client.post("/login/code", data={"code": code(secret, steps_ahead=1)}).status_code == 302
    assert signed_in(client)
