""" "Counted, not named" survives arithmetic: what an outsider can and cannot work out.

Each test tries what the issue's outsider tried: filter after filter, page after page,
before and after a change. K is DISCLOSURE_MIN_JURISDICTIONS (3 in the tests): a block of
unnamed commitments shows only when at least K + 1 jurisdictions contribute to it.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from campaign import create_app
from campaign.accounts.roles import Role
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.config import UnsafeConfigError
from campaign.figures import cache
from campaign.map.encoding import decode_payload

K = 3


@pytest.fixture
def organizer(make, auth):
    make.user(Role.ORGANIZER, email="org@example.org")
    auth.login("org@example.org")


def _map(client, query: str = "") -> dict:
    response = client.get(f"/map/data.json{query}")
    assert response.status_code == 200
    return decode_payload(response.get_json())


def _stat(html: str, label: str) -> int:
    marker = f"</span> {label}</li>"
    before = html[: html.index(marker)]
    return int(before[before.rindex(">") + 1 :])


def _csv(client, path: str) -> list[dict]:
    response = client.get(path)
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_a_lone_counted_commitment_in_a_state_gives_nothing_away(
    client, auth, make, catalog, organizer
):
    """One counted commitment in Wyoming, stage Passed: no filter shows it."""
    cheyenne = make.jurisdiction("Cheyenne", "WY", key="cheyenne", county_key="56021")
    make.commitment(
        make.user(name="Wanda Hidden", jurisdiction=cheyenne),
        catalog[2],
        visibility=Visibility.COUNTED,
        stage=Stage.PASSED,
        pledged_on=date(2026, 4, 2),
    )
    make.commitment(make.user(name="Rosa Public"), catalog[0])  # someone named, elsewhere
    assert "56" not in _map(client)["states"]
    for policy in catalog:
        assert "56" not in _map(client, f"?state=WY&policy={policy.slug}")["states"]
        assert "56" not in _map(client, f"?policy={policy.slug}")["states"]
    for stage in ("introduced", "passed", "implemented"):
        assert "56" not in _map(client, f"?stage={stage}")["states"]
        assert "56" not in _map(client, f"?state=WY&stage={stage}")["states"]
    html = client.get("/dashboard/?state=WY").get_data(as_text=True)
    assert _stat(html, "commitments") == 0 and _stat(html, "officials") == 0
    assert "2026-04" not in html and "Wanda" not in html and "Cheyenne" not in html
    assert not [r for r in _csv(client, "/dashboard/states.csv") if r["state"] == "WY"]
    rows = _csv(client, "/dashboard/policies.csv?state=WY")
    assert {r["commitments"] for r in rows} == {"0"}


def test_a_state_with_enough_unnamed_jurisdictions_counts_them_but_no_finer_cut(
    client, make, catalog, organizer
):
    towns = [make.jurisdiction(f"Town {n}", "WY", key=f"wy{n}") for n in range(K + 1)]
    for n, town in enumerate(towns):
        make.commitment(
            make.user(jurisdiction=town),
            catalog[n % 2],
            visibility=Visibility.COUNTED,
            stage=Stage.PASSED if n == 0 else Stage.PLEDGED,
        )
    assert _map(client)["states"] == {"56": K + 1}
    html = client.get("/dashboard/?state=WY").get_data(as_text=True)
    assert _stat(html, "commitments") == K + 1
    assert _stat(html, "jurisdictions") == 0  # no jurisdiction is named
    # A policy, a stage, or a policy in the state: named commitments only, so nothing.
    assert _map(client, f"?state=WY&policy={catalog[0].slug}")["states"] == {}
    assert _map(client, "?stage=passed")["states"] == {}
    html = client.get(f"/dashboard/?state=WY&policy={catalog[0].slug}").get_data(as_text=True)
    assert _stat(html, "commitments") == 0
    states = {r["state"]: r for r in _csv(client, "/dashboard/states.csv")}
    assert states["WY"]["commitments"] == str(K + 1)


def test_one_unnamed_jurisdiction_fewer_and_the_state_shows_nothing(client, make, catalog):
    for n in range(K):
        town = make.jurisdiction(f"Town {n}", "WY", key=f"wy{n}")
        make.commitment(make.user(jurisdiction=town), catalog[0], visibility=Visibility.COUNTED)
    # Two commitments in one town are still one jurisdiction.
    make.commitment(make.user(jurisdiction=town), catalog[1], visibility=Visibility.COUNTED)
    assert _map(client)["states"] == {}


def test_an_official_named_for_one_commitment_is_not_tied_to_their_hidden_one(
    client, make, catalog, organizer
):
    """Hana has one public and one counted commitment in Wyoming."""
    laramie = make.jurisdiction("Laramie", "WY", key="laramie")
    hana = make.user(name="Hana Both", jurisdiction=laramie)
    make.commitment(hana, catalog[0])
    make.commitment(hana, catalog[3], visibility=Visibility.COUNTED, stage=Stage.IMPLEMENTED)
    html = client.get("/dashboard/?state=WY").get_data(as_text=True)
    assert _stat(html, "officials") == 1 and _stat(html, "commitments") == 1
    directory = client.get("/directory/?state=WY").get_data(as_text=True)
    assert "Hana Both" in directory
    assert _map(client, f"?policy={catalog[3].slug}")["points"] == []
    assert _map(client, "?stage=implemented")["states"] == {}
    popup = client.get("/map/jurisdictions/laramie.json").get_json()
    assert [c["policy"] for c in popup["commitments"]] == [catalog[0].short_title]


def test_the_nation_adds_held_states_only_as_a_large_remainder(client, make, catalog, organizer):
    """Wyoming's block is released; Montana's lone one is held and not in the national total
    (else the total minus the states would give it away) until the held states together
    have K + 1 jurisdictions."""
    for n in range(K + 1):
        town = make.jurisdiction(f"W{n}", "WY", key=f"wy{n}")
        make.commitment(make.user(jurisdiction=town), catalog[0], visibility=Visibility.COUNTED)
    make.commitment(
        make.user(jurisdiction=make.jurisdiction("M0", "MT", key="mt0")),
        catalog[0],
        visibility=Visibility.COUNTED,
    )
    html = client.get("/dashboard/").get_data(as_text=True)
    assert _stat(html, "commitments") == K + 1
    assert "Other states" not in html
    for n, state in enumerate(["ID", "UT", "NV"]):  # three more held states, one town each
        town = make.jurisdiction(f"H{n}", state, key=f"h{n}")
        make.commitment(make.user(jurisdiction=town), catalog[1], visibility=Visibility.COUNTED)
    html = client.get("/dashboard/").get_data(as_text=True)
    assert _stat(html, "commitments") == 2 * (K + 1)
    other = html[html.index("Other states") :]
    assert other.split("<td>")[2].startswith(str(K + 1))
    assert _map(client)["states"] == {"56": K + 1}  # no held state appears on its own


def test_many_unnamed_jurisdictions_show_nationally_on_the_policy_page_only_as_a_count(
    client, make, catalog
):
    policy = catalog[4]
    for n in range(K + 1):
        town = make.jurisdiction(f"Quiet {n}", ["WY", "MT"][n % 2], key=f"q{n}")
        make.commitment(make.user(jurisdiction=town), policy, visibility=Visibility.COUNTED)
    html = client.get(f"/policies/{policy.slug}").get_data(as_text=True)
    assert f"{K + 1} more jurisdictions have committed nationally without being named" in html
    assert "Quiet" not in html
    home = client.get("/").get_data(as_text=True)
    card = home[home.index(f"/policies/{policy.slug}") :]
    assert f"<strong>{K + 1}</strong> jurisdictions have committed" in card


def test_an_unverified_officials_public_commitment_is_nowhere_outside_staff(
    client, auth, make, catalog
):
    town = make.jurisdiction("Faketown", "WY", key="fake")
    impostor = make.user(name="Ima Impostor", jurisdiction=town, unverified=True)
    make.commitment(impostor, catalog[0])
    for path in ("/", f"/policies/{catalog[0].slug}", "/map/", "/map/data.json"):
        text = client.get(path).get_data(as_text=True)
        assert "Ima Impostor" not in text and "Faketown" not in text, path
    assert _map(client)["states"] == {}
    assert client.get("/map/jurisdictions/fake.json").status_code == 404
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    assert "Ima Impostor" in client.get(f"/policies/{catalog[0].slug}").get_data(as_text=True)


def test_a_confirmed_body_an_official_typed_in_is_not_listed_by_search(client, make):
    make.jurisdiction("Hushed Valley Water Board", "MN", key="uabc123", confirmed=True)
    make.jurisdiction("Hushville", "MN", key="gnhush")
    results = client.get("/places/search?q=Hush").get_json()["results"]
    assert [r["label"] for r in results] == ["Hushville, MN"]


@pytest.mark.parametrize("value", ["2", "0", "-1", "three", ""])
def test_a_threshold_below_three_is_refused_at_start_up(value):
    with pytest.raises(UnsafeConfigError, match="DISCLOSURE_MIN_JURISDICTIONS"):
        create_app({"TESTING": True, "DISCLOSURE_MIN_JURISDICTIONS": value})


def test_a_higher_threshold_holds_back_more(app, client, make, catalog):
    for n in range(K + 1):
        town = make.jurisdiction(f"W{n}", "WY", key=f"wy{n}")
        make.commitment(make.user(jurisdiction=town), catalog[0], visibility=Visibility.COUNTED)
    assert _map(client)["states"] == {"56": K + 1}
    app.config["DISCLOSURE_MIN_JURISDICTIONS"] = K + 1  # as a restart with it would
    cache.clear()
    try:
        assert _map(client)["states"] == {}
    finally:
        app.config["DISCLOSURE_MIN_JURISDICTIONS"] = K
