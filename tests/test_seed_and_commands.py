"""The flask commands: seed, demo-data and create-user; the load test's accounts."""

import pyotp
import pytest
from sqlalchemy import func, select

from campaign.accounts.models import User
from campaign.accounts.roles import Role
from campaign.catalog.models import Policy, PolicyResource, Priority
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.demo import DemoError, add_load_test_accounts, generate_demo_campaign
from campaign.extensions import db
from campaign.places.models import Jurisdiction, JurisdictionKind


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_loads_catalog_and_gazetteer_and_is_idempotent(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0, first.output
    assert "6 priorities, 11 policies added" in first.output
    counts = (count(Priority), count(Policy), count(PolicyResource), count(Jurisdiction))
    assert counts[:2] == (6, 11)

    # Staff edits survive a second seed.
    policy = db.session.scalar(select(Policy).where(Policy.slug == "cancel-alpr-contracts"))
    policy.summary = "Edited by staff"
    db.session.commit()

    second = runner.invoke(args=["seed"])
    assert second.exit_code == 0, second.output
    assert "0 priorities, 0 policies added" in second.output
    assert "0 jurisdictions added, 0 updated" in second.output
    assert (count(Priority), count(Policy), count(PolicyResource), count(Jurisdiction)) == counts
    db.session.expire_all()
    assert db.session.get(Policy, policy.id).summary == "Edited by staff"


def test_gazetteer_covers_states_dc_counties_and_places_people_type(runner):
    runner.invoke(args=["seed"])

    def kind_count(kind):
        return db.session.scalar(
            select(func.count(Jurisdiction.id)).where(Jurisdiction.kind == kind)
        )

    assert kind_count(JurisdictionKind.STATE) == 51
    assert kind_count(JurisdictionKind.COUNTY) > 3100
    assert kind_count(JurisdictionKind.PLACE) > 20000
    by_key = {
        j.key: j
        for j in db.session.scalars(
            select(Jurisdiction).where(Jurisdiction.key.in_(["11", "35013", "24033", "27123"]))
        )
    }
    assert by_key["11"].name == "District of Columbia"
    assert by_key["35013"].name == "Doña Ana County"
    assert by_key["24033"].name == "Prince George's County"
    saint_paul = db.session.scalar(
        select(Jurisdiction).where(Jurisdiction.name == "Saint Paul", Jurisdiction.state == "MN")
    )
    assert saint_paul.county_key == "27123"  # Ramsey County
    assert 44 < saint_paul.latitude < 45.5 and -94 < saint_paul.longitude < -92


def test_create_user_takes_the_password_from_the_environment(runner, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_PASSWORD", "a long staff password")
    result = runner.invoke(
        args=["create-user", "Lee@Example.org", "--role", "admin", "--name", "Lee Admin"]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.role == Role.ADMIN and user.email_normalized == "lee@example.org"

    again = runner.invoke(args=["create-user", "lee@example.org", "--name", "Lee Again"])
    assert again.exit_code != 0
    assert "already exists" in again.output
    assert count(User) == 1


def test_create_user_refuses_a_short_password(runner, monkeypatch):
    monkeypatch.setenv("CAMPAIGN_PASSWORD", "short")
    result = runner.invoke(args=["create-user", "x@example.org", "--name", "X"])
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output
    assert count(User) == 0


def test_demo_data_fills_a_campaign_with_every_stage_and_timelines(runner, make):
    runner.invoke(args=["seed", "--skip-gazetteer"])
    for n in range(30):
        make.jurisdiction(f"Demo Town {n}", "MN", key=f"demo{n}", population=1000 * n)
    make.jurisdiction("Demo County", "MN", JurisdictionKind.COUNTY, key="27999")
    result = runner.invoke(args=["demo-data", "--jurisdictions", "20", "--commitments", "120"])
    assert result.exit_code == 0, result.output
    assert count(Commitment) == 120
    stages = set(db.session.scalars(select(Commitment.stage).distinct()))
    assert len(stages) == 6
    assert count(TimelineEntry) > 120
    # Officials in the demo cannot sign in: they have no password.
    assert db.session.scalar(select(func.count(User.id)).where(User.password_hash.isnot(None))) == 0

    skipped = runner.invoke(args=["demo-data", "--if-empty"])
    assert "nothing added" in skipped.output
    assert count(Commitment) == 120


def test_demo_data_explains_when_the_catalog_is_missing(runner):
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code != 0
    assert "run `flask --app wsgi seed` first" in result.output


def test_load_test_accounts_sign_in_and_the_officials_own_commitments(
    runner, make, client, auth, app, monkeypatch
):
    runner.invoke(args=["seed", "--skip-gazetteer"])
    for n in range(10):
        make.jurisdiction(f"Load Town {n}", "MN", key=f"load{n}", population=1000 * n)
    generate_demo_campaign(jurisdictions=10, commitments=30)
    secret = pyotp.random_base32()
    emails = add_load_test_accounts(
        officials=3, organizers=2, staff=2, password="load test password 1",
        second_factor_secret=secret,
    )  # fmt: skip
    db.session.commit()

    assert emails["official"] == [f"load-official-{n}@example.org" for n in range(3)]
    for email in emails["official"]:
        official = db.session.scalar(select(User).where(User.email == email))
        assert official.role == Role.OFFICIAL
        owned = select(func.count()).where(Commitment.official_id == official.id)
        assert db.session.scalar(owned) >= 1
    assert len(emails["organizer"]) == 2
    auth.login(emails["organizer"][1], "load test password 1")
    assert client.get("/account").status_code == 200
    auth.logout()
    # Staff sign in as production asks of them: the password, then their app's code.
    monkeypatch.setitem(app.config, "REQUIRE_STAFF_SECOND_FACTOR", True)
    assert len(emails["staff"]) == 2
    response = auth.login(emails["staff"][1], "load test password 1")
    assert response.headers["Location"].endswith("/login/code")
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert "Follow-up queue" in client.get("/staff/queue").text
    auth.logout()
    response = auth.login(emails["official"][0], "load test password 1")
    assert response.headers["Location"].endswith("/commitments/")
    with pytest.raises(DemoError, match="already has load-test accounts"):
        add_load_test_accounts(officials=1, organizers=0, staff=0, password="load test pass 2")
