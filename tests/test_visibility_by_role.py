"""What each role reads on the public pages, aggregates and exports (visibility.py's promise).

One campaign with a public, a counted ("not named") and a private commitment, each in its
own town, state and policy, read by every role through every surface that aggregates or lists
commitments: the home page, policy pages, the map page, its JSON, popups, CSV and GeoJSON,
the dashboard and its CSVs, the directory and the jurisdiction search. Everyone but staff
sees the public commitment by name and the private one nowhere; the counted one is alone
(far below the disclosure threshold), so it shows nowhere either, not even as a number;
staff and admins see all three. tests/test_disclosure.py covers counted commitments that
are numerous enough to be released.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from campaign.accounts.roles import Role
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.map.encoding import decode_payload
from campaign.places.models import JurisdictionKind

ANON, OFFICIAL, PRIVATE_OFFICIAL, ORG, STAFF, ADMIN = (
    "anonymous",
    "official",
    "private official",
    "organizer",
    "staff",
    "admin",
)
ROLES = (ANON, OFFICIAL, PRIVATE_OFFICIAL, ORG, STAFF, ADMIN)
SEES_ALL = {STAFF, ADMIN}
DASHBOARD_ROLES = {ORG, STAFF, ADMIN}

COUNTED_SECRETS = ("Carl Counted", "Countedburg")  # named nowhere; alone, so counted nowhere
PRIVATE_SECRETS = ("Pia Private", "Privateton")  # staff only, counted nowhere else


@pytest.fixture
def campaign(make, catalog, auth):
    alpr, sanctuary, g287 = catalog[0], catalog[1], catalog[2]
    public_town = make.jurisdiction(
        "Publicville", "MN", key="publicville", county_key="27123", latitude=44.9, longitude=-93
    )
    counted_town = make.jurisdiction(
        "Countedburg", "TX", key="countedburg", county_key="48453", latitude=30.2, longitude=-97
    )
    private_town = make.jurisdiction(
        "Privateton", "FL", key="privateton", county_key="12086", latitude=25.8, longitude=-80
    )
    make.commitment(make.user(name="Rosa Public", jurisdiction=public_town), alpr)
    make.commitment(
        make.user(name="Carl Counted", jurisdiction=counted_town),
        g287,
        visibility=Visibility.COUNTED,
        stage=Stage.PASSED,
    )
    make.commitment(
        make.user(name="Pia Private", email="pia@example.org", jurisdiction=private_town),
        sanctuary,
        visibility=Visibility.PRIVATE,
        stage=Stage.IMPLEMENTED,
    )
    make.jurisdiction(
        "Hushed Unified School District", "MN", JurisdictionKind.SCHOOL_DISTRICT, confirmed=False
    )
    logins = {
        OFFICIAL: make.user(email="viewer@example.org").email,
        PRIVATE_OFFICIAL: "pia@example.org",
        ORG: make.user(Role.ORGANIZER, email="org@example.org").email,
        STAFF: make.user(Role.STAFF, email="staff@example.org").email,
        ADMIN: make.user(Role.ADMIN, email="admin@example.org").email,
    }

    def login_as(role: str) -> None:
        if role != ANON:
            assert auth.login(logins[role]).status_code == 302

    return {"alpr": alpr, "sanctuary": sanctuary, "g287": g287, "login_as": login_as}


def _get(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _csv(client, path: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(_get(client, path).lstrip("\ufeff"))))


def _assert_hidden(role: str, text: str, *, counted_too: bool = True) -> None:
    secrets = (*PRIVATE_SECRETS, *COUNTED_SECRETS) if counted_too else PRIVATE_SECRETS
    if role not in SEES_ALL:
        shown = [s for s in secrets if s in text]
        assert not shown, f"{role} sees {shown}"


@pytest.mark.parametrize("role", ROLES)
def test_home_page_counts_each_policy_as_the_role_may(client, campaign, role):
    campaign["login_as"](role)
    html = _get(client, "/")

    def count(policy) -> str:
        card = html[html.index(f"/policies/{policy.slug}") :]
        return card[card.index("<strong>") + 8 : card.index("</strong>")]

    assert count(campaign["alpr"]) == "1"
    # Counted, not named, but the only one: a count of 1 would point at its official.
    assert count(campaign["g287"]) == ("1" if role in SEES_ALL else "0")
    assert count(campaign["sanctuary"]) == ("1" if role in SEES_ALL else "0")
    _assert_hidden(role, html)


@pytest.mark.parametrize("role", ROLES)
def test_policy_pages_name_only_what_the_role_may_see(client, campaign, role):
    campaign["login_as"](role)
    counted = _get(client, f"/policies/{campaign['g287'].slug}")
    private = _get(client, f"/policies/{campaign['sanctuary'].slug}")
    if role in SEES_ALL:
        assert "Carl Counted" in counted and "Pia Private" in private
        return
    assert "Countedburg" not in counted and "Carl Counted" not in counted
    assert 'id="not-named"' not in counted and "Not named (stage" not in counted
    assert "No jurisdiction has committed to this policy yet." in counted
    # A policy page is a public page: even Pia sees her private commitment only on her own.
    assert "Pia Private" not in private and "Privateton" not in private
    assert "No jurisdiction has committed to this policy yet." in private


@pytest.mark.parametrize("role", ROLES)
def test_map_page_data_popups_and_exports_show_the_roles_scope(client, campaign, role):
    campaign["login_as"](role)
    page = _get(client, "/map/")
    wire = _get(client, "/map/data.json")
    payload = decode_payload(json.loads(wire))
    rows = _csv(client, "/map/export.csv")
    geojson = json.loads(_get(client, "/map/export.geojson"))
    popups = {
        key: client.get(f"/map/jurisdictions/{key}.json")
        for key in ("publicville", "countedburg", "privateton")
    }
    points = {p[0] for p in payload["points"]}
    if role in SEES_ALL:
        expected_keys = {"publicville", "countedburg", "privateton"}
        assert payload["states"] == {"27": 1, "48": 1, "12": 1}
        assert "Pia Private" in popups["privateton"].get_data(as_text=True)
    else:
        expected_keys = {"publicville"}
        assert payload["states"] == {"27": 1}  # Texas's lone counted one is not released
        assert payload["counties"] == {"27123": 1}
        assert popups["countedburg"].status_code == 404
        assert popups["privateton"].status_code == 404
        for text in (page, wire, json.dumps(rows), json.dumps(geojson)):
            _assert_hidden(role, text)
    assert points == expected_keys
    assert {r["key"] for r in rows} == expected_keys
    assert {f["id"] for f in geojson["features"]} == expected_keys
    assert "Rosa Public" in popups["publicville"].get_data(as_text=True)


@pytest.mark.parametrize("role", ROLES)
def test_dashboard_and_its_exports_show_the_roles_scope(client, campaign, role):
    campaign["login_as"](role)
    if role not in DASHBOARD_ROLES:
        for path in ("/dashboard/", "/dashboard/policies.csv", "/dashboard/states.csv"):
            assert client.get(path).status_code in (302, 403)
        return
    page = _get(client, "/dashboard/")
    policies = {r["policy"]: r for r in _csv(client, "/dashboard/policies.csv")}
    states = {r["state"]: r for r in _csv(client, "/dashboard/states.csv")}
    private_count = "1" if role in SEES_ALL else "0"
    assert policies[campaign["sanctuary"].short_title]["commitments"] == private_count
    assert policies[campaign["g287"].short_title]["commitments"] == private_count
    assert set(states) == ({"MN", "TX", "FL"} if role in SEES_ALL else {"MN"})
    _assert_hidden(role, page)
    _assert_hidden(role, json.dumps([policies, states]))


@pytest.mark.parametrize("role", [ORG, STAFF, ADMIN])
def test_directory_lists_officials_as_the_role_may(client, campaign, role):
    campaign["login_as"](role)
    html = _get(client, "/directory/")
    assert "Rosa Public" in html
    if role in SEES_ALL:
        assert "Carl Counted" in html and "Pia Private" in html
    _assert_hidden(role, html)


@pytest.mark.parametrize("role", ROLES)
def test_jurisdiction_search_never_lists_bodies_awaiting_confirmation(client, campaign, role):
    campaign["login_as"](role)
    results = client.get("/places/search?q=Hushed").get_json()["results"]
    assert results == []
    assert client.get("/places/search?q=Publicville").get_json()["results"]
