"""Server-side sessions: sign-out, password changes and admins end them, and cookies die too."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from campaign.accounts.models import User, UserSession
from campaign.accounts.roles import Role
from campaign.accounts.sessions import describe_browser
from campaign.extensions import db
from campaign.timeutil import utcnow
from tests.conftest import form_errors
from tests.factories import PASSWORD

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
NEW_PASSWORD = "a brand new passphrase"
SIGNUP = {
    "name": "Ana Díaz",
    "email": "ana@example.org",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "office_title": "City Councilmember",
}
PRIVATE_PAGE = "/commitments/"


def signed_in(app, email: str, user_agent: str = FIREFOX, remember: bool = False):
    """A new browser, signed in as `email`."""
    browser = app.test_client()
    data = {"email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = browser.post("/login", data=data, headers={"User-Agent": user_agent})
    assert response.status_code == 302
    return browser


def is_signed_in(browser) -> bool:
    status = browser.get(PRIVATE_PAGE).status_code
    assert status in (200, 302)
    return status == 200


def copy_of(app, browser, *cookie_names: str):
    """Another browser holding copies of `browser`'s cookies, as a thief would."""
    thief = app.test_client()
    for name in cookie_names:
        cookie = browser.get_cookie(name)
        assert cookie is not None, name
        thief.set_cookie(name, cookie.value)
    return thief


def sessions_of(user: User) -> list[UserSession]:
    return list(db.session.scalars(db.select(UserSession).where(UserSession.user_id == user.id)))


def test_a_session_cookie_copied_before_sign_out_is_dead_after_it(app, make):
    make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    thief = copy_of(app, browser, "session")
    assert is_signed_in(thief)  # the copy works while the session lives

    assert browser.post("/logout").status_code == 302
    assert not is_signed_in(browser)
    assert not is_signed_in(thief)


def test_a_remember_cookie_copied_before_sign_out_is_dead_after_it(app, make):
    make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org", remember=True)
    stolen = browser.get_cookie("remember_token").value
    assert is_signed_in(copy_of(app, browser, "remember_token"))  # restores a session alone

    browser.post("/logout")
    assert browser.get_cookie("remember_token") is None
    thief = app.test_client()
    thief.set_cookie("remember_token", stolen)
    assert not is_signed_in(thief)


def test_the_database_keeps_only_a_hash_of_the_cookie_token(app, make):
    user = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    cookie = browser.get_cookie("session").value
    token = app.session_interface.get_signing_serializer(app).loads(cookie)["_user_id"]

    [row] = sessions_of(user)
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (row.token_hash, row.browser)
    assert row.browser == "Firefox on Linux"


def test_changing_the_password_ends_other_sessions_but_not_this_one(app, make):
    user = make.user(email="ana@example.org")
    here = signed_in(app, "ana@example.org")
    elsewhere = signed_in(app, "ana@example.org", SAFARI_IPHONE)

    response = here.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.headers["Location"] == "/account"
    assert "signed out on other devices" in here.get("/account").get_data(as_text=True)
    assert is_signed_in(here)
    assert not is_signed_in(elsewhere)
    assert len(sessions_of(user)) == 1


def test_new_password_works_at_sign_in_after_a_change(app, make, client):
    make.user(email="ana@example.org")
    here = signed_in(app, "ana@example.org")
    here.post(
        "/account/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    login = {"email": "ana@example.org"}
    assert client.post("/login", data={**login, "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={**login, "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"current_password": "not my password", "password": NEW_PASSWORD},
            "That is not your current password.",
        ),
        (
            {"current_password": PASSWORD, "password": "short"},
            "Use between 10 and 256 characters for your password.",
        ),
    ],
)
def test_a_refused_password_change_changes_nothing(app, make, data, message):
    user = make.user(email="ana@example.org")
    hash_before = user.password_hash
    here = signed_in(app, "ana@example.org")
    elsewhere = signed_in(app, "ana@example.org", SAFARI_IPHONE)

    response = here.post("/account/password", data={**data, "confirm": data["password"]})
    assert response.status_code == 422
    assert form_errors(response) == [message]
    db.session.refresh(user)
    assert user.password_hash == hash_before
    assert is_signed_in(here) and is_signed_in(elsewhere)


def test_sign_out_everywhere_ends_every_session_including_this_one(app, make):
    user = make.user(email="ana@example.org")
    here = signed_in(app, "ana@example.org")
    elsewhere = signed_in(app, "ana@example.org", SAFARI_IPHONE)
    remembered = signed_in(app, "ana@example.org", remember=True)

    response = here.post("/account/sessions/revoke-all")
    assert response.headers["Location"] == "/login"
    for browser in (here, elsewhere, remembered):
        assert not is_signed_in(browser)
    assert not is_signed_in(copy_of(app, remembered, "remember_token"))
    assert sessions_of(user) == []


def test_the_account_page_lists_sessions_and_revokes_one(app, make):
    make.user(email="ana@example.org")
    here = signed_in(app, "ana@example.org")
    phone = signed_in(app, "ana@example.org", SAFARI_IPHONE)

    page = here.get("/account").get_data(as_text=True)
    assert "2 signed-in devices" in page
    assert "Firefox on Linux <strong>(this device)</strong>" in page
    assert "Safari on iPhone" in page
    assert "Safari on iPhone <strong>(this device)" not in page
    assert "Sign out everywhere" in page

    [phone_id] = [
        s.id for s in db.session.scalars(db.select(UserSession)) if s.browser == "Safari on iPhone"
    ]
    response = here.post(f"/account/sessions/{phone_id}/revoke")
    assert response.headers["Location"] == "/account"
    page = here.get("/account").get_data(as_text=True)
    assert "Signed out Safari on iPhone." in page
    assert "1 signed-in device" in page
    assert "Safari on iPhone</th>" not in page
    assert not is_signed_in(phone)
    assert is_signed_in(here)


def test_revoking_this_device_from_the_list_signs_it_out(app, make):
    user = make.user(email="ana@example.org")
    here = signed_in(app, "ana@example.org")
    [row] = sessions_of(user)
    assert here.post(f"/account/sessions/{row.id}/revoke").headers["Location"] == "/"
    assert not is_signed_in(here)


def test_nobody_can_revoke_another_persons_session(app, make):
    make.user(email="ana@example.org")
    ben = make.user(email="ben@example.org")
    ana_browser = signed_in(app, "ana@example.org")
    ben_browser = signed_in(app, "ben@example.org")
    [bens] = sessions_of(ben)

    assert ana_browser.post(f"/account/sessions/{bens.id}/revoke").status_code == 404
    assert ana_browser.post("/account/sessions/99999/revoke").status_code == 404
    assert is_signed_in(ben_browser)


def test_session_buttons_need_a_signed_in_post(app, make, client):
    user = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    [row] = sessions_of(user)
    assert client.post(f"/account/sessions/{row.id}/revoke").status_code == 302  # to sign-in
    assert client.post("/account/sessions/revoke-all").status_code == 302
    assert browser.get("/account/sessions/revoke-all").status_code == 405
    assert is_signed_in(browser)


def test_deactivation_ends_every_session_and_reactivation_restores_none(app, make, auth):
    ana = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org", remember=True)
    make.user(Role.ADMIN, email="admin@example.org")
    auth.login("admin@example.org")

    auth._client.post(f"/admin/users/{ana.id}", data={"active": "0"})
    assert not is_signed_in(browser)
    assert sessions_of(ana) == []

    auth._client.post(f"/admin/users/{ana.id}", data={"active": "1"})
    assert not is_signed_in(browser)
    assert not is_signed_in(copy_of(app, browser, "remember_token"))


def test_a_role_change_ends_every_session(app, make, auth):
    ana = make.user(Role.ORGANIZER, email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    make.user(Role.ADMIN, email="admin@example.org")
    auth.login("admin@example.org")

    auth._client.post(f"/admin/users/{ana.id}", data={"role": "staff"})
    assert browser.get("/account").status_code == 302
    assert sessions_of(ana) == []


def test_a_session_of_a_deactivated_account_is_refused_even_if_its_row_remains(app, make):
    ana = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    ana.active = False  # as a direct database edit would, without revoking
    db.session.commit()
    assert not is_signed_in(browser)


@pytest.mark.parametrize(
    ("column", "age", "alive"),
    [
        ("created_at", timedelta(days=29, hours=23), True),
        ("created_at", timedelta(days=30, minutes=1), False),
        ("last_seen_at", timedelta(days=13, hours=23), True),
        ("last_seen_at", timedelta(days=14, minutes=1), False),
    ],
)
def test_sessions_end_after_the_absolute_and_idle_lifetimes(app, make, column, age, alive):
    assert (app.config["SESSION_ABSOLUTE_DAYS"], app.config["SESSION_IDLE_DAYS"]) == (30, 14)
    user = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org", remember=True)
    db.session.execute(update(UserSession).values({column: utcnow() - age}))
    db.session.commit()

    assert is_signed_in(browser) is alive
    assert is_signed_in(copy_of(app, browser, "remember_token")) is alive
    if not alive:
        # Expired rows are tidied away at the next sign-in.
        signed_in(app, "ana@example.org")
        assert len(sessions_of(user)) == 1


def test_last_seen_is_written_at_most_every_few_minutes(app, make, count_queries):
    user = make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    touch = timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"])

    recent = utcnow() - touch / 2
    db.session.execute(update(UserSession).values(last_seen_at=recent))
    db.session.commit()
    with count_queries() as counter:
        assert is_signed_in(browser)
    [row] = sessions_of(user)
    assert row.last_seen_at == recent
    reads_only = counter.count

    stale = utcnow() - touch * 2
    db.session.execute(update(UserSession).values(last_seen_at=stale))
    db.session.commit()
    with count_queries() as counter:
        assert is_signed_in(browser)
    db.session.refresh(row)
    assert row.last_seen_at > stale + touch
    assert counter.count == reads_only + 1  # one UPDATE, in its own transaction


def test_a_submission_records_last_seen_without_waiting_for_its_own_write_lock(app, make, catalog):
    """A POST already holds SQLite's write lock from its first query: recording "last seen"
    in a second transaction would wait for that lock until the busy timeout (5 s)."""
    official = make.user(email="ana@example.org")
    commitment = make.commitment(official, catalog[0])
    browser = signed_in(app, "ana@example.org")
    stale = utcnow() - timedelta(seconds=app.config["SESSION_TOUCH_SECONDS"] * 2)
    db.session.execute(update(UserSession).values(last_seen_at=stale))
    db.session.commit()

    started = time.monotonic()
    response = browser.post(
        f"/commitments/{commitment.id}/progress",
        data={"stage": "introduced", "occurred_on": "2026-03-02", "version": "1"},
    )
    assert response.status_code == 302
    assert time.monotonic() - started < 2
    [row] = sessions_of(official)
    assert row.last_seen_at > stale


def test_purge_sessions_deletes_expired_rows_only(app, make, runner):
    ana = make.user(email="ana@example.org")
    signed_in(app, "ana@example.org")
    signed_in(app, "ana@example.org", SAFARI_IPHONE)
    old = utcnow() - timedelta(days=31)
    db.session.execute(
        update(UserSession).where(UserSession.browser == "Firefox on Linux").values(created_at=old)
    )
    db.session.commit()

    result = runner.invoke(args=["purge-sessions"])
    assert result.exit_code == 0, result.output
    assert "1 expired session" in result.output
    assert [s.browser for s in sessions_of(ana)] == ["Safari on iPhone"]


def test_signing_in_after_confirming_a_sign_up_lists_one_device(app, make, client, mailbox):
    """Sign-up signs no one in (a session only new accounts got would tell them apart):
    the person confirms the mailed link, then signs in, and that sign-in is listed."""
    make.jurisdiction("Saint Paul", "MN", key="gn5045360")
    client.post("/signup", data={**SIGNUP, "jurisdiction": "Saint Paul, MN"})
    assert client.get("/account").status_code == 302  # not signed in yet
    link = re.search(r"http://[^/\s]+(/signup/confirm/\S+)", mailbox.messages[0].get_content())
    client.post(link.group(1))
    client.post("/login", data={"email": SIGNUP["email"], "password": PASSWORD})
    assert "1 signed-in device" in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize(
    ("agent", "description"),
    [
        (FIREFOX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Safari/537.36 Edg/126.0.0.0",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
            "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
            "Chrome on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl"),
        ("", "Unknown browser"),
        ("<script>" * 50, "Unknown browser"),
    ],
)
def test_browsers_are_described_briefly(agent, description):
    assert describe_browser(agent) == description


def test_a_garbled_or_huge_session_token_is_just_anonymous(app, client):
    serializer = app.session_interface.get_signing_serializer(app)
    for token in ("", "x" * 5000, 12345, ["a"], "nonsense"):
        client.set_cookie("session", serializer.dumps({"_user_id": token}))
        assert not is_signed_in(client)


def test_account_page_shows_when_each_session_started(app, make):
    make.user(email="ana@example.org")
    browser = signed_in(app, "ana@example.org")
    page = browser.get("/account").get_data(as_text=True)
    today = utcnow()
    assert re.search(rf"{today:%B} {today.day}, {today.year} at \d\d:\d\d UTC", page)
