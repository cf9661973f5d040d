"""An official signs up and picks the jurisdiction they serve."""

import pytest
from sqlalchemy import func, select

from campaign.accounts.models import AccountOrigin, User
from campaign.extensions import db
from campaign.places.models import Jurisdiction, JurisdictionKind
from tests.conftest import form_errors

GOOD = {
    "name": "Ana Díaz",
    "email": "ana@example.org",
    "password": "correct horse battery",
    "confirm": "correct horse battery",
    "office_title": "City Councilmember",
}


@pytest.fixture
def places(make):
    return {
        "st_paul_mn": make.jurisdiction(
            "Saint Paul", "MN", key="gn5045360", county_key="27123", population=303176
        ),
        "st_paul_ne": make.jurisdiction("Saint Paul", "NE", key="gn5074001", population=2290),
        "ramsey": make.jurisdiction("Ramsey County", "MN", JurisdictionKind.COUNTY, key="27123"),
        "dona_ana_town": make.jurisdiction("Doña Ana", "NM", key="gn5465262"),
        "dona_ana_county": make.jurisdiction(
            "Doña Ana County", "NM", JurisdictionKind.COUNTY, key="35013"
        ),
        "fresno": make.jurisdiction("Fresno", "CA", key="gn5350937"),
    }


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_signup_with_an_unambiguous_name_creates_an_unconfirmed_official_not_signed_in(
    client, places
):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "st paul, MN"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/signup/sent"
    user = db.session.scalar(select(User))
    assert user.jurisdiction.key == "gn5045360"
    assert user.password_hash.startswith("$argon2id$")
    assert "correct horse" not in user.password_hash
    assert user.origin == AccountOrigin.SIGNUP
    assert user.email_confirmed_at is None and user.verified_at is None
    # Not signed in: the confirmation link comes first.
    assert client.get("/commitments/new").headers["Location"].startswith("/login")


def test_type_ahead_key_is_trusted_when_it_matches_the_text(client, places):
    response = client.post(
        "/signup",
        data={**GOOD, "jurisdiction": "Saint Paul, NE", "jurisdiction_key": "gn5074001"},
    )
    assert response.status_code == 302
    assert db.session.scalar(select(User)).jurisdiction.key == "gn5074001"


def test_ambiguous_name_offers_candidates_to_confirm_and_creates_nothing(client, places):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "St. Paul"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "More than one place fits. Choose yours below." in html
    assert 'value="gn5045360"' in html and 'value="gn5074001"' in html
    assert users() == 0

    confirmed = client.post(
        "/signup", data={**GOOD, "jurisdiction": "St. Paul", "jurisdiction_choice": "gn5045360"}
    )
    assert confirmed.status_code == 302
    assert db.session.scalar(select(User)).jurisdiction.label == "Saint Paul, MN"


def test_name_that_fits_a_town_and_its_county_is_not_guessed(client, places):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "Dona Ana"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="gn5465262"' in html and 'value="35013"' in html
    assert users() == 0


def test_a_typo_still_offers_the_close_match(client, places):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "Fresnoo"})
    assert response.status_code == 422
    assert 'value="gn5350937"' in response.get_data(as_text=True)


def test_unknown_jurisdiction_is_explained_and_nothing_is_written(client, places):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "Xqzzyville"})
    assert response.status_code == 422
    assert any("We could not find “Xqzzyville”" in e for e in form_errors(response))
    assert users() == 0


def test_school_district_is_added_unconfirmed_near_its_place(client, places):
    response = client.post(
        "/signup",
        data={
            **GOOD,
            "body_name": "Fresno Unified School District",
            "body_kind": "school_district",
            "body_state": "CA",
            "near": "Fresno",
        },
    )
    assert response.status_code == 302
    body = db.session.scalar(select(User)).jurisdiction
    assert body.kind == JurisdictionKind.SCHOOL_DISTRICT
    assert body.confirmed is False
    assert body.near.key == "gn5350937"
    assert body.label == "Fresno Unified School District, CA"


def test_second_board_member_of_the_same_district_joins_the_same_jurisdiction(client, places):
    data = {
        **GOOD,
        "body_name": "Fresno Unified School District",
        "body_kind": "school_district",
        "body_state": "CA",
        "near": "Fresno",
    }
    client.post("/signup", data=data)
    client.post("/logout")
    client.post(
        "/signup",
        data={**data, "email": "ben@example.org", "body_name": "fresno unified school district "},
    )
    assert users() == 2
    districts = db.session.scalar(
        select(func.count(Jurisdiction.id)).where(Jurisdiction.confirmed.is_(False))
    )
    assert districts == 1


def test_body_near_a_place_in_another_state_is_refused(client, places):
    response = client.post(
        "/signup",
        data={
            **GOOD,
            "body_name": "Some Board",
            "body_kind": "other",
            "body_state": "NV",
            "near": "Fresno",
        },
    )
    assert response.status_code == 422
    assert "Fresno, CA is not in the state you chose." in form_errors(response)
    assert users() == 0


def test_an_address_with_an_account_in_another_case_creates_nothing_and_says_nothing(
    client, places, make
):
    make.user(email="ana@example.org")
    response = client.post(
        "/signup", data={**GOOD, "email": "  ANA@Example.ORG ", "jurisdiction": "Fresno"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/signup/sent"
    assert users() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Enter your name."),
        ({"name": "   "}, "Enter your name."),
        ({"email": ""}, "Enter your email address."),
        ({"email": "not-an-email"}, "Enter a valid email address, like name@example.org."),
        (
            {"password": "short", "confirm": "short"},
            "Use between 10 and 256 characters for your password.",
        ),
        ({"confirm": "something else"}, "The two passwords differ."),
        ({"office_title": ""}, "Enter the office you hold."),
        ({"name": "x" * 100_000}, "Field cannot be longer than 120 characters."),
        ({"jurisdiction": ""}, "Enter the jurisdiction you serve."),
    ],
)
def test_bad_sign_up_input_gets_a_clear_message_and_writes_nothing(
    client, places, changes, message
):
    data = {**GOOD, "jurisdiction": "Fresno", **changes}
    response = client.post("/signup", data=data)
    assert response.status_code == 422
    assert message in form_errors(response)
    assert users() == 0


def test_signup_form_has_a_label_for_every_field(client):
    html = client.get("/signup").get_data(as_text=True)
    for field_id in (
        "name",
        "email",
        "password",
        "confirm",
        "office_title",
        "jurisdiction",
        "body_name",
        "body_kind",
        "body_state",
        "near",
    ):
        assert f'<label for="{field_id}">' in html
    assert "<title>Sign up as an official" in html


def test_bodies_awaiting_confirmation_are_not_offered_in_public_search(client, places):
    client.post(
        "/signup",
        data={
            **GOOD,
            "body_name": "Secret Valley School Board",
            "body_kind": "school_district",
            "body_state": "CA",
            "near": "Fresno",
        },
    )
    results = client.get("/places/search?q=secret valley").get_json()["results"]
    assert results == []
