"""Links in emails come from PUBLIC_URL, and requests naming another host are refused."""

from __future__ import annotations

import pytest

from campaign import create_app
from campaign.config import UnsafeConfigError
from campaign.mail import public_link


def links(message) -> list[str]:
    return [word for word in message.get_content().split() if word.startswith("http")]


def test_a_forged_host_is_refused_and_no_reset_link_is_mailed(client, make, mailbox):
    make.user(email="ana@example.org")
    response = client.post(
        "/password/forgot", data={"email": "ana@example.org"}, headers={"Host": "evil.example"}
    )
    assert response.status_code == 400
    assert mailbox.messages == []


def test_a_reset_asked_through_another_trusted_host_links_to_public_url(
    client, make, mailbox, app, monkeypatch
):
    """Even a host the app answers to (here the testing config's campaign.example.org)
    never makes it into a link: the link is on PUBLIC_URL."""
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://commit.example.net/app")
    make.user(email="ana@example.org")
    response = client.post(
        "/password/forgot",
        data={"email": "ana@example.org"},
        headers={"Host": "campaign.example.org"},
    )
    assert response.status_code == 302
    [message] = mailbox.wait_for(1)
    [link] = links(message)
    assert link.startswith("https://commit.example.net/app/password/reset/")


def test_public_link_works_without_a_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://commit.example.org")
    assert public_link("commitments.mine") == "https://commit.example.org/commitments/"


def test_production_refuses_to_start_without_public_url():
    with pytest.raises(UnsafeConfigError, match="PUBLIC_URL"):
        create_app({"ENV_NAME": "production", "SECRET_KEY": "x" * 64, "PUBLIC_URL": None})


@pytest.mark.parametrize("bad", ["commit.example.org", "ftp://commit.example.org", "https://"])
def test_a_public_url_that_is_not_a_site_address_is_refused(bad):
    with pytest.raises(ValueError, match="PUBLIC_URL"):
        create_app({"ENV_NAME": "testing", "PUBLIC_URL": bad})


def test_production_trusts_only_public_urls_host_and_the_extra_hosts(tmp_path):
    app = create_app(
        {
            "ENV_NAME": "production",
            "SECRET_KEY": "x" * 64,
            "PUBLIC_URL": "https://commit.example.org",
            "EXTRA_TRUSTED_HOSTS": ["10.0.0.5"],
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p.db",
        }
    )
    assert app.config["TRUSTED_HOSTS"] == ["commit.example.org", "10.0.0.5"]
    client = app.test_client()
    assert client.get("/login", base_url="https://evil.example").status_code == 400
    assert client.get("/login", base_url="https://commit.example.org").status_code != 400
