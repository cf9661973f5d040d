"""Places as people write them ("City of Raleigh", "Hamilton Township", "Orleans Parish") are
found alike by sign-up, a staff spreadsheet and a helpdesk email: one reading of the words."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from campaign.accounts.models import User
from campaign.extensions import db
from campaign.imports.matching import jurisdictions_mentioned
from campaign.imports.sheets import Action
from campaign.places.models import JurisdictionKind
from tests.test_import_spreadsheet import csv_bytes, plan_for
from tests.test_signup import GOOD

HEADERS = ["Name", "Email", "Jurisdiction", "State", "Policy", "Date pledged"]


@pytest.fixture
def places(make):
    county = JurisdictionKind.COUNTY
    return {
        "raleigh": make.jurisdiction("Raleigh", "NC", key="gn4487042", population=482295),
        "raleigh_county": make.jurisdiction("Raleigh County", "WV", county, key="54081"),
        "stockton": make.jurisdiction("Stockton", "CA", key="gn5399020", population=305658),
        "stockton_ks": make.jurisdiction("Stockton", "KS", key="gn4048488", population=1322),
        "cary": make.jurisdiction("Cary", "NC", key="gn4459467", population=159769),
        "hamilton": make.jurisdiction("Hamilton", "NJ", key="gn5099289", population=92297),
        "orleans": make.jurisdiction("Orleans Parish", "LA", county, key="22071"),
        "new_orleans": make.jurisdiction("New Orleans", "LA", key="gn4335045"),
        "saint_louis": make.jurisdiction("St. Louis", "MO", key="gn4407066"),
    }


@pytest.mark.parametrize(
    ("typed", "state", "expected"),
    [
        ("City of Raleigh", "NC", "raleigh"),
        ("CITY OF RALEIGH ", "north carolina", "raleigh"),
        ("City of Raleigh", "", "raleigh"),  # "City of": not Raleigh County, WV
        ("City of Stockton", "CA", "stockton"),
        ("Stockton city", "CALIFORNIA", "stockton"),
        ("Town of Cary", "NC", "cary"),
        ("Village of Cary", "NC", "cary"),
        ("Hamilton Township", "NJ", "hamilton"),
        ("Hamilton Twp.", "New Jersey", "hamilton"),
        ("Orleans Parish", "LA", "orleans"),
        ("Parish of Orleans", "Louisiana", "orleans"),
        ("City of St. Louis", "MO", "saint_louis"),
        ("city of saint louis", "mo", "saint_louis"),
    ],
)
def test_a_staff_sheet_imports_the_rows_a_person_would(catalog, places, typed, state, expected):
    rows = [["Ana Ruiz", "ana@example.org", typed, state, "Cancel ALPR contracts", "2025-03-04"]]
    (planned,) = plan_for(csv_bytes(rows, HEADERS)).rows
    assert planned.action == Action.CREATE, planned.reason
    assert planned.jurisdiction == places[expected]


def test_a_name_that_fits_two_places_is_still_a_choice(catalog, places):
    rows = [["Ana Ruiz", "ana@example.org", "City of Stockton", "", "Cancel ALPR contracts",
             "2025-03-04"]]  # fmt: skip
    (planned,) = plan_for(csv_bytes(rows, HEADERS)).rows
    assert planned.action == Action.CHOOSE
    assert {m.jurisdiction for m in planned.jurisdiction_candidates} >= {
        places["stockton"],
        places["stockton_ks"],
    }


def test_an_official_signs_up_as_city_of_raleigh(client, places):
    response = client.post("/signup", data={**GOOD, "jurisdiction": "City of Raleigh, NC"})
    assert response.status_code == 302
    assert db.session.scalar(select(User)).jurisdiction == places["raleigh"]


def test_a_helpdesk_email_names_places_the_same_way(places):
    def named(text):
        return [j.label for j in jurisdictions_mentioned(text)]

    assert named("Hello from the Town of Cary, we will end our ALPR contract.") == ["Cary, NC"]
    assert named("The City of Raleigh council voted on Tuesday.") == ["Raleigh, NC"]
    assert named("Hamilton Township, NJ passed the ordinance.") == ["Hamilton, NJ"]
    assert named("Orleans Parish commissioners pledge a sanctuary policy.") == [
        "Orleans Parish, LA"
    ]
