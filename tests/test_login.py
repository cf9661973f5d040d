"""Signing in and out, and what the cookies and redirects allow."""

import pytest

from campaign.accounts.roles import Role
from tests.conftest import form_errors


def test_official_signs_in_and_lands_on_my_commitments(client, auth, make):
    make.user(email="ana@example.org")
    response = auth.login("ana@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/commitments/"


def test_email_is_matched_whatever_its_case_and_spaces(client, auth, make):
    make.user(email="ana@example.org")
    assert auth.login("  ANA@example.ORG ").status_code == 302


def test_unknown_email_and_wrong_password_get_the_same_message(client, auth, make):
    make.user(email="ana@example.org")
    wrong_password = auth.login("ana@example.org", "not the password")
    unknown_email = auth.login("nobody@example.org")
    assert wrong_password.status_code == unknown_email.status_code == 422
    assert form_errors(wrong_password) == form_errors(unknown_email)
    assert form_errors(wrong_password) == ["That email and password do not match an account."]


def test_deactivated_account_cannot_sign_in(client, auth, make):
    user = make.user(email="gone@example.org")
    user.active = False
    from campaign.extensions import db

    db.session.commit()
    assert auth.login("gone@example.org").status_code == 422


@pytest.mark.parametrize("target", ["/account", "/commitments/?x=1"])
def test_next_parameter_returns_to_a_page_on_this_site(client, make, target):
    make.user(email="ana@example.org")
    response = client.post(
        f"/login?next={target}",
        data={"email": "ana@example.org", "password": "correct horse battery"},
    )
    assert response.headers["Location"] == target


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "////evil.example",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "\\\\evil.example",
        "/%09/evil.example".replace("%09", "\t"),
    ],
)
def test_next_parameter_never_leaves_the_site(client, make, target):
    make.user(email="ana@example.org")
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"email": "ana@example.org", "password": "correct horse battery"},
    )
    assert response.headers["Location"] == "/commitments/"


def test_session_and_remember_cookies_are_httponly_and_samesite(client, make):
    make.user(email="ana@example.org")
    response = client.post(
        "/login",
        data={"email": "ana@example.org", "password": "correct horse battery", "remember": "y"},
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert len(cookies) == 2
    for cookie in cookies:
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_sign_out_is_a_post_and_ends_the_session(client, auth, make):
    make.user(email="ana@example.org")
    auth.login("ana@example.org")
    assert client.get("/logout").status_code == 405
    assert client.get("/commitments/").status_code == 200
    auth.logout()
    assert client.get("/commitments/").status_code == 302


def test_changing_the_password_signs_out_other_sessions(app, make):
    from campaign.accounts.operations import set_password
    from campaign.extensions import db

    user = make.user(email="ana@example.org")
    first, second = app.test_client(), app.test_client()
    for c in (first, second):
        c.post("/login", data={"email": "ana@example.org", "password": "correct horse battery"})
    set_password(user, "a brand new passphrase")
    db.session.commit()
    assert second.get("/commitments/").status_code == 302


def test_staff_sign_in_lands_on_the_home_page(client, auth, make):
    make.user(Role.STAFF, email="staff@example.org")
    assert auth.login("staff@example.org").headers["Location"] == "/"
