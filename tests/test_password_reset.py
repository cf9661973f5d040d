"""Password reset by emailed link, delivered through a real SMTP server on loopback."""

from __future__ import annotations

import logging
import re
import time

import pytest
from itsdangerous import TimestampSigner

from campaign.accounts.models import UserSession
from campaign.accounts.reset import make_reset_token
from campaign.extensions import db
from campaign.mail import MailError, send_mail
from tests.conftest import form_errors
from tests.mailbox import free_port

NEW_PASSWORD = "a brand new passphrase"
SENT_PAGE_TEXT = "If an account exists for that address, we have emailed a link"


def ask_for_link(client, mailbox, email: str) -> str:
    """Request a reset for `email` and return the path from the one message it produced."""
    response = client.post("/password/forgot", data={"email": email})
    assert response.status_code == 302
    assert len(mailbox.messages) == 1
    return link_path(mailbox.messages[0])


def link_path(message) -> str:
    """The path of the reset link in a message; the link itself is absolute."""
    body = message.get_content()
    link = re.search(r"http://127\.0\.0\.1:5000(/password/reset/\S+)", body)
    assert link, body
    return link.group(1)


def choose_password(client, path: str, password: str = NEW_PASSWORD):
    return client.post(path, data={"password": password, "confirm": password})


def test_reset_email_arrives_and_its_link_sets_the_password(client, make, mailbox):
    make.user(email="ana@example.org", name="Ana Ruiz")

    response = client.post("/password/forgot", data={"email": " ANA@example.org "})
    assert response.headers["Location"] == "/password/sent"
    assert SENT_PAGE_TEXT in client.get("/password/sent").get_data(as_text=True)

    [message] = mailbox.messages
    assert mailbox.recipients == [["ana@example.org"]]
    assert message["To"] == "ana@example.org"
    assert message["From"] == "No Secret Police <no-reply@localhost>"
    assert "password" in message["Subject"]
    assert message["Date"] and message["Message-ID"]
    assert message.get_content_type() == "text/plain"
    assert "Hello Ana Ruiz" in message.get_content()

    path = link_path(message)
    page = client.get(path)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"  # no Referer to other sites
    assert "Choose a new password" in page.get_data(as_text=True)

    done = choose_password(client, path)
    assert done.status_code == 302
    assert done.headers["Location"] == "/"
    home = client.get("/")
    assert "Your new password is set, and you are signed in." in home.get_data(as_text=True)
    assert client.get("/commitments/").status_code == 200


@pytest.mark.parametrize("email", ["nobody@example.org", "gone@example.org"])
def test_unknown_or_deactivated_email_gets_the_same_page_and_no_mail(client, make, mailbox, email):
    make.user(email="ana@example.org")
    gone = make.user(email="gone@example.org")
    gone.active = False
    db.session.commit()

    known = client.post("/password/forgot", data={"email": "ana@example.org"})
    assert len(mailbox.messages) == 1
    other = client.post("/password/forgot", data={"email": email})
    assert len(mailbox.messages) == 1
    assert (known.status_code, known.headers["Location"]) == (
        other.status_code,
        other.headers["Location"],
    )
    assert known.get_data() == other.get_data()


def test_badly_formed_email_is_shown_on_the_form(client, mailbox):
    response = client.post("/password/forgot", data={"email": "not an address"})
    assert response.status_code == 422
    assert form_errors(response) == ["Enter a valid email address, like name@example.org."]
    assert mailbox.messages == []


def test_reset_link_works_only_once(client, make, mailbox):
    make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")
    assert choose_password(client, path).status_code == 302

    again = client.get(path)
    assert again.status_code == 410
    text = again.get_data(as_text=True)
    assert "already been used" in text
    assert 'href="/password/forgot"' in text
    assert choose_password(client, path, "yet another passphrase").status_code == 410


def test_asking_twice_leaves_only_the_newer_link_usable_after_a_reset(client, make, mailbox):
    make.user(email="ana@example.org")
    first = ask_for_link(client, mailbox, "ana@example.org")
    mailbox.clear()
    second = ask_for_link(client, mailbox, "ana@example.org")
    assert choose_password(client, second).status_code == 302
    assert client.get(first).status_code == 410


def test_expired_link_is_refused(client, make, mailbox, app, monkeypatch):
    make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")
    later = int(time.time()) + app.config["PASSWORD_RESET_MAX_AGE"] + 1
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)

    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert choose_password(client, path).status_code == 410
    assert client.get("/commitments/").status_code == 302


def test_link_is_still_good_just_before_it_expires(client, make, mailbox, app, monkeypatch):
    make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")
    later = int(time.time()) + app.config["PASSWORD_RESET_MAX_AGE"] - 5
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    assert client.get(path).status_code == 200


def test_new_password_works_at_login_and_the_old_one_does_not(app, make, mailbox, auth):
    make.user(email="ana@example.org")
    resetter = app.test_client()
    path = ask_for_link(resetter, mailbox, "ana@example.org")
    choose_password(resetter, path)

    assert auth.login("ana@example.org").status_code == 422
    assert auth.login("ana@example.org", NEW_PASSWORD).status_code == 302


def test_resetting_signs_out_every_other_session(app, make, mailbox, auth, client):
    user = make.user(email="ana@example.org")
    auth.login("ana@example.org")
    assert client.get("/commitments/").status_code == 200
    of_user = db.select(UserSession.token_hash).where(UserSession.user_id == user.id)
    [before] = db.session.scalars(of_user)

    resetter = app.test_client()
    path = ask_for_link(resetter, mailbox, "ana@example.org")
    choose_password(resetter, path)

    assert client.get("/commitments/").status_code == 302
    assert resetter.get("/commitments/").status_code == 200
    # The resetting browser was signed in afresh; the old session row is gone.
    assert before not in list(db.session.scalars(of_user))


def test_account_without_a_password_can_be_claimed(client, make, mailbox, auth):
    user = make.user(email="imported@example.org")
    user.password_hash = None
    db.session.commit()
    assert auth.login("imported@example.org").status_code == 422

    path = ask_for_link(client, mailbox, "imported@example.org")
    assert choose_password(client, path).status_code == 302
    auth.logout()
    assert auth.login("imported@example.org", NEW_PASSWORD).status_code == 302


@pytest.mark.parametrize(
    "token",
    ["garbage", "e30.Zt0.bm90LWEtc2lnbmF0dXJl", "." * 40, "%00%ff", "a" * 2000],
)
def test_garbled_link_gets_a_friendly_page_not_an_error(client, token):
    path = f"/password/reset/{token}"
    for response in (client.get(path), choose_password(client, path)):
        assert response.status_code == 400
        text = response.get_data(as_text=True)
        assert "This reset link is not valid." in text
        assert 'href="/password/forgot"' in text


def test_tampered_link_is_refused(client, make, mailbox):
    make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")
    # Change a character inside the signature, not the last one: in base64 the last
    # character may carry only padding bits, so changing it can leave the bytes as they were.
    position = len(path) - 5
    swapped = "A" if path[position] != "A" else "B"
    tampered = path[:position] + swapped + path[position + 1 :]
    assert client.get(tampered).status_code == 400


def test_link_for_a_deactivated_account_is_refused(client, make, mailbox):
    user = make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")
    user.active = False
    db.session.commit()
    assert client.get(path).status_code == 410
    assert choose_password(client, path).status_code == 410


def test_token_signed_with_another_key_is_refused(client, make, app, monkeypatch):
    user = make.user(email="ana@example.org")
    monkeypatch.setitem(app.config, "SECRET_KEY", "some other key")
    token = make_reset_token(user)
    monkeypatch.undo()
    assert client.get(f"/password/reset/{token}").status_code == 400


def test_short_or_mismatched_new_password_is_shown_on_the_form(client, make, mailbox):
    make.user(email="ana@example.org")
    path = ask_for_link(client, mailbox, "ana@example.org")

    short = client.post(path, data={"password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert form_errors(short) == ["Use between 10 and 256 characters for your password."]
    differ = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"})
    assert form_errors(differ) == ["The two passwords differ."]
    # The link survives a failed attempt.
    assert choose_password(client, path).status_code == 302


def test_forgot_page_still_answers_the_same_when_the_mail_server_is_down(
    client, make, app, monkeypatch, caplog
):
    make.user(email="ana@example.org")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    with caplog.at_level(logging.ERROR):
        response = client.post("/password/forgot", data={"email": "ana@example.org"})
    assert response.headers["Location"] == "/password/sent"
    assert "Password reset email for user" in caplog.text


def test_send_mail_raises_mail_error_when_the_server_refuses(app, monkeypatch):
    port = free_port()
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    with pytest.raises(MailError, match=f"127.0.0.1:{port}"):
        send_mail("ana@example.org", "Hello", "Body")


def test_suppressed_mail_is_logged_not_sent(app, mailbox, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", True)
    with caplog.at_level(logging.INFO, logger="campaign.mail"):
        send_mail("ana@example.org", "Hello", "The body text")
    assert mailbox.messages == []
    assert "The body text" in caplog.text


def test_sign_in_page_links_to_the_reset_page(client):
    assert 'href="/password/forgot"' in client.get("/login").get_data(as_text=True)


def test_user_row_keeps_no_reset_state(client, make, mailbox):
    """Tokens live only in the email: asking for one changes nothing in the database."""
    user = make.user(email="ana@example.org")
    before = (user.password_hash, user.email_normalized)
    client.post("/password/forgot", data={"email": "ana@example.org"})
    db.session.refresh(user)
    assert (user.password_hash, user.email_normalized) == before
