"""Sign-up confirms the email address, and answers alike for new and known addresses."""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
import urllib.request

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import func, select
from werkzeug.serving import make_server

from campaign.accounts.models import User
from campaign.audit.models import AuditEntry
from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.places.models import Jurisdiction
from tests.conftest import form_errors

GOOD = {
    "name": "Ana Díaz",
    "email": "ana@example.org",
    "password": "correct horse battery",
    "confirm": "correct horse battery",
    "office_title": "City Councilmember",
    "jurisdiction": "Fresno, CA",
}
LINK = re.compile(r"http://127\.0\.0\.1:5000(/signup/confirm/\S+)")


@pytest.fixture
def fresno(make):
    return make.jurisdiction("Fresno", "CA", key="gn5350937")


def confirmation_path(message) -> str:
    found = LINK.search(message.get_content())
    assert found, message.get_content()
    return found.group(1)


def sign_up(client, mailbox, **changes) -> str:
    """Sign up and return the path of the confirmation link mailed."""
    response = client.post("/signup", data={**GOOD, **changes})
    assert response.headers["Location"] == "/signup/sent"
    [message] = mailbox.messages
    return confirmation_path(message)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_the_link_mailed_at_sign_up_confirms_the_address_once(
    client, fresno, mailbox, auth, catalog
):
    path = sign_up(client, mailbox)
    [message] = mailbox.messages
    assert message["To"] == "ana@example.org"
    assert "Confirm your email" in message["Subject"]
    sent = client.get("/signup/sent").get_data(as_text=True)
    assert "<title>Check your email" in sent and "<h1>Check your email</h1>" in sent

    # Opening the link changes nothing (mail scanners open links); the button confirms.
    page = client.get(path)
    assert page.status_code == 200
    assert "Confirm my email address" in page.get_data(as_text=True)
    assert db.session.scalar(select(User)).email_confirmed_at is None
    confirmed = client.post(path)
    assert confirmed.status_code == 302
    assert confirmed.headers["Location"].startswith("/login?next=")
    user = db.session.scalar(select(User))
    db.session.refresh(user)
    assert user.email_confirmed_at is not None
    assert db.session.scalar(
        select(func.count()).where(AuditEntry.action == "user.email_confirmed")
    )

    again = client.get(path)
    assert again.status_code == 410
    assert "This confirmation link has already been used." in again.get_data(as_text=True)
    assert client.post(path).status_code == 410

    auth.login("ana@example.org")
    assert f'name="commit_{catalog[0].id}"' in client.get("/commitments/new").get_data(as_text=True)


def test_a_new_and_a_known_address_get_the_same_answer_and_the_mail_tells_them_apart(
    app, fresno, make, mailbox
):
    make.user(email="known@example.org", name="Kim Known")
    bodies_before = count(Jurisdiction)
    answers = []
    for email in ("new@example.org", "KNOWN@example.org"):
        client = app.test_client()
        client.get("/signup")  # a visitor's session exists before the form is sent
        response = client.post(
            "/signup",
            data={
                **GOOD,
                "email": email,
                # A school district the form describes: written only for a new account.
                "jurisdiction": "",
                "body_name": f"District of {email}",
                "body_kind": "school_district",
                "body_state": "CA",
                "near": "Fresno",
            },
        )
        answers.append(
            (
                response.status_code,
                response.headers["Location"],
                response.headers.get_all("Set-Cookie"),
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][:2] == (302, "/signup/sent")
    assert count(User) == 2
    assert count(Jurisdiction) == bodies_before + 1  # only the new account's district

    new, known = mailbox.messages
    assert new["To"] == "new@example.org" and LINK.search(new.get_content())
    assert known["To"] == "known@example.org"
    assert "You already have an account: sign in, or reset your password" in " ".join(
        known.get_content().split()
    )
    assert "http://127.0.0.1:5000/password/forgot" in known.get_content()
    assert not LINK.search(known.get_content())


def test_an_expired_link_is_explained_and_offers_a_new_one(
    client, fresno, mailbox, app, monkeypatch
):
    path = sign_up(client, mailbox)
    later = int(time.time()) + app.config["EMAIL_CONFIRMATION_MAX_AGE"] + 1
    with monkeypatch.context() as patch:
        patch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
        page = client.get(path)
        assert page.status_code == 410
        html = page.get_data(as_text=True)
        assert "This confirmation link has expired." in html
        assert '<label for="email">' in html and "Send a new link" in html
        assert client.post(path).status_code == 410
    assert db.session.scalar(select(User)).email_confirmed_at is None

    mailbox.clear()
    client.post("/signup/confirm/resend", data={"email": "ana@example.org"})
    [message] = mailbox.messages
    assert client.post(confirmation_path(message)).status_code == 302


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "x" * 300])
def test_a_garbled_link_gets_a_friendly_page(client, token):
    page = client.get(f"/signup/confirm/{token}")
    assert page.status_code == 400
    assert "This confirmation link is not valid." in page.get_data(as_text=True)


def test_asking_for_a_new_link_answers_alike_for_any_address(client, fresno, make, mailbox):
    make.user(email="confirmed@example.org")
    sign_up(client, mailbox)
    mailbox.clear()
    answers = {
        email: client.post("/signup/confirm/resend", data={"email": email})
        for email in ("ana@example.org", "confirmed@example.org", "nobody@example.org")
    }
    assert {(r.status_code, r.headers["Location"]) for r in answers.values()} == {
        (302, "/signup/sent")
    }
    assert [m["To"] for m in mailbox.messages] == ["ana@example.org"]
    bad = client.post("/signup/confirm/resend", data={"email": "not-an-email"})
    assert bad.status_code == 422
    assert "Enter a valid email address, like name@example.org." in form_errors(bad)


def test_an_unconfirmed_official_cannot_commit_and_is_offered_the_link_again(
    client, fresno, mailbox, auth, catalog
):
    sign_up(client, mailbox)
    mailbox.clear()
    auth.login("ana@example.org")
    page = client.get("/commitments/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Confirm your email address" in html
    assert "commit_" not in html
    refused = client.post(
        "/commitments/new",
        data={f"commit_{catalog[0].id}": "y", f"visibility_{catalog[0].id}": "public"},
    )
    assert refused.status_code == 403
    assert count(Commitment) == 0

    mine = client.get("/commitments/").get_data(as_text=True)
    assert "Email me the link again" in mine
    again = client.post("/signup/confirm/resend")
    assert again.headers["Location"] == "/commitments/new"
    [message] = mailbox.messages
    assert client.post(confirmation_path(message)).headers["Location"] == "/commitments/new"
    assert "commit_" in client.get("/commitments/new").get_data(as_text=True)


def test_claiming_an_invitation_confirms_the_address_and_a_reset_link_does_too(
    client, make, mailbox
):
    user = make.user(email="ana@example.org")
    user.email_confirmed_at = None
    db.session.commit()
    client.post("/password/forgot", data={"email": "ana@example.org"})
    path = re.search(r"http://127\.0\.0\.1:5000(\S+)", mailbox.messages[0].get_content()).group(1)
    client.post(
        path, data={"password": "a brand new passphrase", "confirm": "a brand new passphrase"}
    )
    db.session.refresh(user)
    assert user.email_confirmed_at is not None


def test_mail_goes_out_after_the_response(app, make, mailbox):
    """A slow mail server does not slow the answer: a known address answers as fast as an
    unknown one, over real HTTP (the server closes the response, then the mail is sent)."""
    make.user(email="ana@example.org")
    mailbox.delay = 3.0
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"

        def ask(email: str) -> tuple[int, float]:
            data = urllib.parse.urlencode({"email": email}).encode()
            opener = urllib.request.build_opener(NoRedirect)
            started = time.monotonic()
            try:
                opener.open(base + "/password/forgot", data=data, timeout=10)
            except urllib.error.HTTPError as answer:
                answer.read()
                return answer.code, time.monotonic() - started
            raise AssertionError("expected a redirect")

        known_status, known_time = ask("ana@example.org")
        unknown_status, unknown_time = ask("nobody@example.org")
        assert known_status == unknown_status == 302
        assert known_time < 2.0 and unknown_time < 2.0
        assert mailbox.messages == []  # the server has not accepted it yet
        [message] = mailbox.wait_for(1)
        assert message["To"] == "ana@example.org"
    finally:
        server.shutdown()
        thread.join(timeout=5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_an_official_staff_created_needs_no_confirmation_to_commit(client, make, auth, catalog):
    """`flask create-user --role official`: the admin vouched for the address."""
    official = make.user(email="cli@example.org")
    official.email_confirmed_at = None
    db.session.commit()
    auth.login("cli@example.org")
    html = client.get("/commitments/new").get_data(as_text=True)
    assert f'name="commit_{catalog[0].id}"' in html
    assert "Confirm your email address" not in html
