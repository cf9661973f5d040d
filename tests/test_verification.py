"""Staff verify officials who signed up alone; until then nothing of theirs is published."""

from __future__ import annotations

import csv
import io
import json

import pytest
from sqlalchemy import select

from campaign.accounts.models import AccountOrigin, User
from campaign.accounts.roles import Role
from campaign.audit.models import AuditEntry
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.followup.queue import QueueFilter, Reason, follow_up_queue
from campaign.map.encoding import decode_payload
from campaign.timeutil import today
from tests.conftest import form_errors

ANON, OFFICIAL, ORG, STAFF = "anonymous", "official", "organizer", "staff"
SECRETS = ("Una Unverified", "Unverton")


@pytest.fixture
def campaign(make, catalog, auth):
    alpr, g287 = catalog[0], catalog[2]
    public_town = make.jurisdiction("Publicville", "MN", key="publicville", county_key="27123")
    new_town = make.jurisdiction(
        "Unverton", "WY", key="unverton", county_key="56021", latitude=41.1, longitude=-104.8
    )
    make.commitment(make.user(name="Rosa Public", jurisdiction=public_town), alpr)
    una = make.user(
        name="Una Unverified",
        email="una@unverton-wy.gov",
        jurisdiction=new_town,
        office_title="Mayor",
        unverified=True,
    )
    una.origin = AccountOrigin.SIGNUP
    db.session.commit()
    commitment = make.commitment(una, g287, stage=Stage.PASSED)
    logins = {
        OFFICIAL: make.user(email="viewer@example.org").email,
        ORG: make.user(Role.ORGANIZER, email="org@example.org").email,
        STAFF: make.user(Role.STAFF, name="Sam Staff", email="staff@example.org").email,
    }

    def login_as(role: str) -> None:
        if role != ANON:
            assert auth.login(logins[role]).status_code == 302

    return {"g287": g287, "una": una, "commitment": commitment, "login_as": login_as}


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _csv(client, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_get(client, path).lstrip("\ufeff"))))


def what_the_role_reads(client, campaign, role: str) -> dict:
    """Every surface that counts or names commitments, as this role reads it."""
    g287 = campaign["g287"]
    home = _get(client, "/")
    card = home[home.index(f"/policies/{g287.slug}") :]
    seen = {
        "home count": card[card.index("<strong>") + 8 : card.index("</strong>")],
        "home": home,
        "policy page": _get(client, f"/policies/{g287.slug}"),
        "map page": _get(client, "/map/"),
        "map data": decode_payload(json.loads(_get(client, "/map/data.json"))),
        "map csv": _csv(client, "/map/export.csv"),
        "map geojson": json.loads(_get(client, "/map/export.geojson")),
        "popup": client.get("/map/jurisdictions/unverton.json").status_code,
    }
    if role in (ORG, STAFF):
        seen["dashboard"] = _get(client, "/dashboard/")
        seen["dashboard policies"] = {
            r["policy"]: r["commitments"] for r in _csv(client, "/dashboard/policies.csv")
        }
        seen["dashboard states"] = {r["state"] for r in _csv(client, "/dashboard/states.csv")}
        seen["directory"] = _get(client, "/directory/")
    return seen


def assert_absent(seen: dict, g287) -> None:
    assert seen["home count"] == "0"
    assert seen["map data"]["states"].get("56") is None
    assert "unverton" not in {p[0] for p in seen["map data"]["points"]}
    assert "unverton" not in {r["key"] for r in seen["map csv"]}
    assert "unverton" not in {f["id"] for f in seen["map geojson"]["features"]}
    assert seen["popup"] == 404
    assert "No jurisdiction has committed to this policy yet." in seen["policy page"]
    if "dashboard" in seen:
        assert seen["dashboard policies"][g287.short_title] == "0"
        assert "WY" not in seen["dashboard states"]
    text = json.dumps(
        {k: v for k, v in seen.items() if k != "popup"}, ensure_ascii=False, default=sorted
    )
    assert not [s for s in SECRETS if s in text]


def assert_present(seen: dict, g287) -> None:
    assert seen["home count"] == "1"
    assert seen["map data"]["states"].get("56") == 1
    assert "unverton" in {p[0] for p in seen["map data"]["points"]}
    assert "unverton" in {r["key"] for r in seen["map csv"]}
    assert seen["popup"] == 200
    assert "Una Unverified" in seen["policy page"]
    if "dashboard" in seen:
        assert seen["dashboard policies"][g287.short_title] == "1"
        assert "WY" in seen["dashboard states"]
        assert "Una Unverified" in seen["directory"]


@pytest.mark.parametrize("role", [ANON, OFFICIAL, ORG])
def test_an_unverified_official_is_absent_from_every_public_page_until_staff_verify(
    app, client, campaign, role
):
    campaign["login_as"](role)
    assert_absent(what_the_role_reads(client, campaign, role), campaign["g287"])

    staff = app.test_client()
    staff.post("/login", data={"email": "staff@example.org", "password": "correct horse battery"})
    verified = staff.post(f"/staff/officials/{campaign['una'].id}/verify")
    assert verified.status_code == 302

    assert_present(what_the_role_reads(client, campaign, role), campaign["g287"])


def test_verifying_shows_at_once_even_when_figures_may_lag(app, client, campaign, monkeypatch):
    monkeypatch.setitem(app.config, "AGGREGATE_MAX_LAG_SECONDS", 600.0)
    assert_absent(what_the_role_reads(client, campaign, ANON), campaign["g287"])
    staff = app.test_client()
    staff.post("/login", data={"email": "staff@example.org", "password": "correct horse battery"})
    staff.post(f"/staff/officials/{campaign['una'].id}/verify")
    assert_present(what_the_role_reads(client, campaign, ANON), campaign["g287"])


def test_staff_see_the_unverified_official_everywhere(client, campaign):
    campaign["login_as"](STAFF)
    seen = what_the_role_reads(client, campaign, STAFF)
    assert_present(seen, campaign["g287"])


def test_the_verification_page_shows_what_staff_decide_on_and_verifying_is_audited(
    client, campaign
):
    campaign["login_as"](STAFF)
    una = campaign["una"]
    listing = _get(client, "/staff/officials/to-verify")
    assert "Una Unverified" in listing and "Rosa Public" not in listing
    page = _get(client, f"/staff/officials/{una.id}/verify")
    for fact in (
        "<title>Verify Una Unverified",
        "<h1>Verify Una Unverified</h1>",
        "Mayor",
        "Unverton, WY",
        "unverton-wy.gov",
        "Signed up on the site",
        campaign["g287"].short_title,
        "Passed",
    ):
        assert fact in page, fact

    assert client.post(f"/staff/officials/{una.id}/verify").status_code == 302
    db.session.refresh(una)
    assert una.verified_at is not None
    assert db.session.get(User, una.verified_by_id).name == "Sam Staff"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.verified"))
    assert entry.subject_id == una.id and "Una Unverified verified as Mayor" in entry.summary
    after = _get(client, f"/staff/officials/{una.id}/verify")
    assert "Verified on" in after and "Do not verify" not in after
    assert "Nobody is waiting." in _get(client, "/staff/officials/to-verify")
    # A second verification is refused with a message, not an error.
    again = client.post(f"/staff/officials/{una.id}/verify", follow_redirects=True)
    assert "Una Unverified is already verified." in again.get_data(as_text=True)


def test_rejecting_deactivates_the_account_and_keeps_it_unpublished(app, client, campaign):
    campaign["login_as"](STAFF)
    una = campaign["una"]
    too_long = client.post(f"/staff/officials/{una.id}/reject", data={"reason": "x" * 301})
    assert too_long.status_code == 422
    assert "Keep the reason under 300 characters." in form_errors(too_long)
    db.session.refresh(una)
    assert una.active

    rejected = client.post(
        f"/staff/officials/{una.id}/reject", data={"reason": "The town has no such mayor"}
    )
    assert rejected.status_code == 302
    db.session.refresh(una)
    assert not una.active and una.verified_at is None
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.rejected"))
    assert "The town has no such mayor" in entry.summary
    assert "Una Unverified" not in _get(app.test_client(), f"/policies/{campaign['g287'].slug}")
    assert "deactivated" in _get(client, f"/staff/officials/{una.id}/verify")


@pytest.mark.parametrize("role", [ANON, OFFICIAL, ORG])
def test_only_staff_verify(client, campaign, role):
    campaign["login_as"](role)
    una = campaign["una"]
    for response in (
        client.get(f"/staff/officials/{una.id}/verify"),
        client.post(f"/staff/officials/{una.id}/verify"),
        client.post(f"/staff/officials/{una.id}/reject"),
        client.get("/staff/officials/to-verify"),
    ):
        assert response.status_code in (302, 403)
    db.session.refresh(una)
    assert una.verified_at is None and una.active


def test_verifying_someone_who_is_not_an_official_is_a_404(client, campaign):
    campaign["login_as"](STAFF)
    staff = db.session.scalar(select(User).where(User.email == "staff@example.org"))
    assert client.get(f"/staff/officials/{staff.id}/verify").status_code == 404
    assert client.post("/staff/officials/999999/verify").status_code == 404


def test_the_queue_puts_new_officials_to_verify_first_after_help_requests(make, catalog, campaign):
    page = follow_up_queue(today(), QueueFilter(owner="all"))
    reasons = [(i.official_name, i.reason) for i in page.items]
    assert reasons[0] == ("Una Unverified", Reason.OFFICIAL_TO_VERIFY)
    assert Reason.OFFICIAL_TO_VERIFY.label == "New official to verify"
    assert Reason.HELP_REQUESTED < Reason.OFFICIAL_TO_VERIFY < Reason.FOLLOW_UP_DUE


def test_the_queue_links_to_the_verification_page(client, campaign):
    campaign["login_as"](STAFF)
    html = _get(client, "/staff/queue?owner=all")
    assert "New official to verify" in html
    assert f"/staff/officials/{campaign['una'].id}/verify" in html


def test_an_unverified_official_is_told_their_commitments_wait_for_the_campaign(
    app, client, auth, campaign
):
    assert auth.login("una@unverton-wy.gov").status_code == 302
    waiting = "Waiting for the campaign to confirm you"
    mine = _get(client, "/commitments/")
    assert waiting in mine and "not counted or published" in mine
    assert waiting in _get(client, f"/commitments/{campaign['commitment'].id}")

    staff = app.test_client()
    staff.post("/login", data={"email": "staff@example.org", "password": "correct horse battery"})
    staff.post(f"/staff/officials/{campaign['una'].id}/verify")
    assert waiting not in _get(client, "/commitments/")
    assert waiting not in _get(client, f"/commitments/{campaign['commitment'].id}")
