"""Sign-in and sign-out start the browser's session afresh, CSRF secret included.

Flask-WTF keeps the secret behind every form token in the Flask session. If it survived
sign-in, a token an attacker captured (or planted) in an anonymous browser would still work
in the signed-in one; if it survived sign-out, the next person at a shared computer would
inherit it. These tests run with CSRF protection on, as in production.
"""

from __future__ import annotations

import re

import pytest

from campaign.accounts.models import User
from campaign.extensions import db


@pytest.fixture
def csrf_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def token_on(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


def sign_in(client, token: str, email: str = "ana@example.org"):
    return client.post(
        "/login",
        data={"email": email, "password": "correct horse battery", "csrf_token": token},
    )


def save_profile(client, token: str, name: str):
    return client.post(
        "/account",
        data={"name": name, "office_title": "Mayor", "phone": "", "csrf_token": token},
    )


def name_of(user: User) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).name


def test_a_form_token_from_before_sign_in_is_refused_after_it(app, csrf_on, make):
    ana = make.user(email="ana@example.org", name="Ana Díaz")
    client = app.test_client()
    before = token_on(client, "/login")
    assert sign_in(client, before).status_code == 302

    refused = save_profile(client, before, "Planted Name")
    assert refused.status_code == 400
    assert name_of(ana) == "Ana Díaz"

    fresh = token_on(client, "/account")
    assert fresh != before
    assert save_profile(client, fresh, "Ana María Díaz").status_code == 302
    assert name_of(ana) == "Ana María Díaz"


def test_a_form_token_from_a_signed_in_session_is_refused_after_sign_out(app, csrf_on, make):
    make.user(email="ana@example.org")
    client = app.test_client()
    assert sign_in(client, token_on(client, "/login")).status_code == 302
    signed_in_token = token_on(client, "/account")
    assert client.post("/logout", data={"csrf_token": signed_in_token}).status_code == 302
    assert client.get("/account").status_code == 302  # signed out: sent to sign in

    # The next person at this browser cannot use what the last one's session held.
    assert sign_in(client, signed_in_token).status_code == 400
    assert client.get("/account").status_code == 302
    assert sign_in(client, token_on(client, "/login")).status_code == 302
    assert client.get("/account").status_code == 200


def test_sign_out_everywhere_also_renews_this_browsers_session(app, csrf_on, make):
    make.user(email="ana@example.org")
    client = app.test_client()
    assert sign_in(client, token_on(client, "/login")).status_code == 302
    signed_in_token = token_on(client, "/account")
    response = client.post("/account/sessions/revoke-all", data={"csrf_token": signed_in_token})
    assert response.status_code == 302
    assert sign_in(client, signed_in_token).status_code == 400


def test_sign_in_still_says_welcome_and_keeps_the_sign_out_message(app, csrf_on, make):
    make.user(email="ana@example.org")
    client = app.test_client()
    assert sign_in(client, token_on(client, "/login")).status_code == 302
    client.post("/logout", data={"csrf_token": token_on(client, "/account")})
    page = client.get("/").get_data(as_text=True)
    assert "You are signed out." in page
