"""The adoption map: what each viewer sees, the filter in the URL, exports and query counts."""

import csv
import gc
import gzip
import io
import json
import re

import brotli
import pytest

from campaign.accounts.roles import Role
from campaign.commitments.aggregates import jurisdiction_figures
from campaign.commitments.filters import AdoptionFilter
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.figures import cache
from campaign.map.encoding import decode_payload
from campaign.places.models import JurisdictionKind


@pytest.fixture
def campaign_data(make, catalog):
    """Public, counted and private commitments in three states."""
    alpr, sanctuary, g287 = catalog[0], catalog[1], catalog[2]
    st_paul = make.jurisdiction(
        "Saint Paul",
        "MN",
        key="gn5045360",
        county_key="27123",
        population=303176,
        latitude=44.94,
        longitude=-93.09,
    )
    make.jurisdiction("Ramsey County", "MN", JurisdictionKind.COUNTY, key="27123")
    austin = make.jurisdiction(
        "Austin",
        "TX",
        key="gn4671654",
        county_key="48453",
        population=961855,
        latitude=30.27,
        longitude=-97.74,
    )
    hidden = make.jurisdiction(
        "Quietville", "FL", key="gnquiet", county_key="12086", latitude=25.8, longitude=-80.2
    )
    rosa = make.user(name="Rosa Public", jurisdiction=st_paul)
    make.commitment(rosa, alpr, stage=Stage.PASSED)
    make.commitment(rosa, sanctuary)
    make.commitment(
        make.user(name="Carl Counted", jurisdiction=austin), g287, visibility=Visibility.COUNTED
    )
    make.commitment(
        make.user(name="Pia Private", jurisdiction=hidden),
        alpr,
        visibility=Visibility.PRIVATE,
        stage=Stage.IMPLEMENTED,
    )
    return {"alpr": alpr, "sanctuary": sanctuary, "g287": g287}


def data(client, query=""):
    """The map's figures as map_payload made them, decoded from the wire's columns."""
    response = client.get(f"/map/data.json{query}")
    assert response.status_code == 200
    return decode_payload(response.get_json())


def point_keys(payload):
    return {p[0] for p in payload["points"]}


@pytest.mark.parametrize(
    ("accepted", "encoding"),
    [("gzip, deflate, br", "br"), ("gzip, deflate", "gzip"), ("identity", None)],
)
def test_map_data_comes_compressed_as_the_client_can_read_it(
    client, campaign_data, accepted, encoding
):
    plain = client.get("/map/data.json", headers={"Accept-Encoding": "identity"}).data
    response = client.get("/map/data.json", headers={"Accept-Encoding": accepted})
    assert response.headers.get("Content-Encoding") == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.data
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    assert body == plain
    assert "points" in json.loads(body)


def test_public_map_names_public_commitments_and_not_a_lone_unnamed_one(client, campaign_data):
    payload = data(client)
    assert point_keys(payload) == {"gn5045360"}
    # Florida's private one is nowhere; Texas's lone counted one would point at Austin.
    assert payload["states"] == {"27": 2}
    assert payload["counties"] == {"27123": 2}  # Austin's county is not shaded for it


def test_public_page_source_and_popups_never_reveal_hidden_officials(client, campaign_data):
    html = client.get("/map/").get_data(as_text=True)
    for secret in ("Carl Counted", "Austin", "Pia Private", "Quietville"):
        assert secret not in html
    popup = client.get("/map/jurisdictions/gn5045360.json").get_json()
    assert {c["official"] for c in popup["commitments"]} == {"Rosa Public"}
    assert client.get("/map/jurisdictions/gn4671654.json").status_code == 404
    assert client.get("/map/jurisdictions/gnquiet.json").status_code == 404


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.ORGANIZER])
def test_signed_in_organizers_and_officials_see_the_public_view(
    client, auth, make, campaign_data, role
):
    make.user(role, email="viewer@example.org")
    auth.login("viewer@example.org")
    assert point_keys(data(client)) == {"gn5045360"}


def test_staff_see_every_commitment_on_the_map(client, auth, make, campaign_data):
    make.user(Role.STAFF, email="staff@example.org")
    auth.login("staff@example.org")
    payload = data(client)
    assert point_keys(payload) == {"gn5045360", "gn4671654", "gnquiet"}
    assert payload["states"] == {"27": 2, "48": 1, "12": 1}


@pytest.mark.parametrize(
    ("query", "expected_points", "expected_states"),
    [
        ("?stage=passed", {"gn5045360"}, {"27": 1}),
        ("?stage=implemented", set(), {}),
        ("?state=TX", set(), {}),
        ("?policy=robust-sanctuary-policies", {"gn5045360"}, {"27": 1}),
        ("?priority=no-collaboration", {"gn5045360"}, {"27": 1}),
        ("?hostile=1", {"gn5045360"}, {"27": 2}),
    ],
)
def test_filters_narrow_the_map(client, campaign_data, query, expected_points, expected_states):
    payload = data(client, query)
    assert point_keys(payload) == expected_points
    assert payload["states"] == expected_states


def test_unknown_filter_values_are_flagged_and_ignored(client, campaign_data):
    response = client.get("/map/?policy=nope&state=ZZ&stage=everything&page=abc&sort=bad")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count("Unknown value, ignored") == 3
    # The next visitor, with no filter, gets a clean form: the flagged one was not kept.
    assert "Unknown value, ignored" not in client.get("/map/").get_data(as_text=True)


def test_the_filter_carries_into_table_links_and_exports(client, campaign_data):
    html = client.get("/map/?stage=passed&state=MN").get_data(as_text=True)
    assert 'href="/map/export.csv?stage=passed&amp;state=MN"' in html
    assert 'href="/map/export.geojson?stage=passed&amp;state=MN"' in html


def test_csv_export_matches_the_filter_and_opens_in_excel(client, campaign_data):
    response = client.get("/map/export.csv?stage=passed")
    assert response.mimetype == "text/csv"
    body = response.data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [r["key"] for r in rows] == ["gn5045360"]
    assert rows[0]["jurisdiction"] == "Saint Paul, MN"
    assert rows[0]["passed"] == "1"


def test_geojson_export_is_rfc7946_and_matches_the_filter(client, campaign_data):
    response = client.get("/map/export.geojson")
    assert response.mimetype == "application/geo+json"
    collection = json.loads(response.data)
    assert collection["type"] == "FeatureCollection" and "crs" not in collection
    (feature,) = collection["features"]
    assert feature["geometry"] == {"type": "Point", "coordinates": [-93.09, 44.94]}
    assert feature["properties"]["commitments"] == 2


def test_map_page_serves_every_asset_itself_and_stays_small(client, campaign_data):
    html = client.get("/map/").get_data(as_text=True)
    assert "cdn." not in html and "openstreetmap" not in html and "https://" not in html
    for asset in ("vendor/bundle/map.js", "vendor/bundle/map.css", "js/adoption-map.js"):
        assert asset in html
    assert len(html.encode()) < 300_000
    # The bundle holds Leaflet and its plugins as vendored, and finds Leaflet's images.
    script = client.get(re.search(r'src="([^"]*bundle/map\.js[^"]*)"', html).group(1))
    assert script.status_code == 200
    bundled = script.get_data(as_text=True)
    assert "Leaflet 1.9.4" in bundled and "MarkerClusterGroup" in bundled and "topojson" in bundled
    style = client.get(re.search(r'href="([^"]*bundle/map\.css[^"]*)"', html).group(1))
    for image in re.findall(r"url\((\.\./leaflet/images/[^)]+)\)", style.get_data(as_text=True)):
        assert client.get("/static/vendor/bundle/" + image).status_code == 200


def test_the_map_page_itself_holds_the_states_outline_hidden_from_screen_readers(
    client, campaign_data
):
    """Painted with the page, before any script (tests/e2e checks it lies where Leaflet
    draws the states); the table beside it is what assistive technology reads."""
    html = client.get("/map/").get_data(as_text=True)
    found = re.search(
        r'<div class="folium-map" id="map_\w+" ><svg class="map-sketch" aria-hidden="true"'
        r' focusable="false"[^>]*><svg x="50%" y="50%" overflow="visible"><path d="(M[^"]+)"',
        html,
    )
    assert found and len(found.group(1)) > 10_000
    assert "style=" not in found.group(0)  # the CSP allows no inline style


def test_cached_map_figures_are_left_out_of_garbage_collection(app, make, catalog):
    """A worker keeps ~20,000 rows per filter; the collector must not walk them each time it
    runs a full collection (it holds the GIL, so every page waits)."""
    for n in range(3):
        town = make.jurisdiction(f"Town {n}", "MN", latitude=45.0, longitude=-93.0)
        make.commitment(make.user(jurisdiction=town), catalog[n])
    figures = jurisdiction_figures(AdoptionFilter(), "public")
    assert len(figures.rows) == 3
    gc.collect()
    gc.collect()  # a tuple is let go once a pass has let go of what it holds
    assert not any(gc.is_tracked(row) for row in figures.rows)
    assert [s.label for s in figures.summaries] == ["Town 0, MN", "Town 1, MN", "Town 2, MN"]


def test_map_data_takes_the_same_number_of_queries_however_big_the_campaign(
    client, make, catalog, count_queries
):
    def measure():
        cache.clear()
        with count_queries() as counter:
            for path in ("/map/data.json", "/map/", "/map/export.csv"):
                assert client.get(path).status_code == 200
        return counter.count

    town = make.jurisdiction("First", "MN", key="first", latitude=45.0, longitude=-93.0)
    make.commitment(make.user(jurisdiction=town), catalog[0])
    small = measure()
    for n in range(25):
        place = make.jurisdiction(f"Town {n}", "WI", key=f"wi{n}", latitude=44.0, longitude=-89.0)
        official = make.user(jurisdiction=place)
        for policy in catalog[:3]:
            make.commitment(official, policy)
    assert measure() == small


def test_cached_figures_change_as_soon_as_a_commitment_changes(client, make, catalog):
    town = make.jurisdiction("First", "MN", key="first", latitude=45.0, longitude=-93.0)
    official = make.user(jurisdiction=town)
    commitment = make.commitment(official, catalog[0])
    assert point_keys(data(client)) == {"first"}
    commitment.visibility = Visibility.PRIVATE
    from campaign.extensions import db

    db.session.commit()
    assert point_keys(data(client)) == set()


def test_the_folium_map_is_built_once_per_filter_not_after_every_write(
    client, make, catalog, campaign_data
):
    def folium_names(html: str) -> set[str]:
        return set(re.findall(r"\bmap_[0-9a-f]{32}\b", html))

    first = folium_names(client.get("/map/").get_data(as_text=True))
    assert first
    make.commitment(make.user(), catalog[3])  # a write: figures change, the map does not
    assert folium_names(client.get("/map/").get_data(as_text=True)) == first
    assert folium_names(client.get("/map/?state=MN").get_data(as_text=True)) != first
