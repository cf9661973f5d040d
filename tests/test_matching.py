"""Names as people type them: case, accents, punctuation, abbreviations, states, typos."""

import pytest

from campaign.extensions import db
from campaign.places.gazetteer import load_gazetteer
from campaign.places.matching import normalize_name, parse_state, split_state
from campaign.places.search import resolve_jurisdiction, search_jurisdictions


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("St. Paul", "saint paul"),
        ("SAINT PAUL ", "saint paul"),
        ("Doña Ana", "dona ana"),
        ("Prince George's County", "prince georges county"),
        ("prince george’s", "prince georges"),
        ("Bay Cnty", "bay county"),
        ("Ft. Lauderdale", "fort lauderdale"),
        ("Mt.  Vernon", "mount vernon"),
        ("Winston-Salem", "winston salem"),
        ("  Bay County \t", "bay county"),
    ],
)
def test_names_normalise_to_one_key(typed, normalised):
    assert normalize_name(typed) == normalised


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Saint Paul, MN", ("Saint Paul", "MN")),
        ("saint paul minnesota", ("saint paul", "MN")),
        ("Springfield ILLINOIS", ("Springfield", "IL")),
        ("Kansas City", ("Kansas City", None)),
        ("Minnesota", ("Minnesota", None)),
        ("New York NY", ("New York", "NY")),
        ("Fort Worth", ("Fort Worth", None)),
        ("Washington, D.C.", ("Washington", "DC")),
    ],
)
def test_a_trailing_state_is_read_as_a_state(typed, expected):
    assert split_state(typed) == expected


def test_state_names_in_any_case_and_codes_parse():
    assert parse_state("MINNESOTA") == "MN"
    assert parse_state("mn") == "MN"
    assert parse_state("District of Columbia") == "DC"
    assert parse_state("Narnia") is None


def test_the_real_gazetteer_finds_what_people_type(app):
    load_gazetteer()
    db.session.commit()

    def top(query):
        return [m.jurisdiction.label for m in search_jurisdictions(query, limit=5)]

    assert top("St. Paul, MN")[0] == "Saint Paul, MN"
    assert "Doña Ana County, NM" in top("Dona Ana")
    assert "Prince George's County, MD" in top("prince george")
    assert {"Bay County, FL", "Bay County, MI"} <= set(top("Bay County "))
    assert top("Sant Paul")[0] == "Saint Paul, MN"  # a typo still offers the right place
    assert top("chicgo")[0] == "Chicago, IL"
    # Certain matches resolve; ambiguous ones ask a person to choose.
    assert resolve_jurisdiction("springfield illinois").jurisdiction.label == "Springfield, IL"
    assert resolve_jurisdiction("St. Paul").jurisdiction is None
    assert resolve_jurisdiction("Dona Ana").jurisdiction is None
    assert len(resolve_jurisdiction("Dona Ana").candidates) >= 2
