"""The map and dashboard in a real browser: self-hosted, drawn, and safe from injected text."""

import re

import pytest
from playwright.sync_api import expect

from campaign.accounts.roles import Role
from campaign.commitments.stages import Stage
from tests.factories import PASSWORD

pytestmark = pytest.mark.e2e

PAYLOADS = [
    '<img src=x onerror="window.__pwned=1">',
    "`${window.__pwned=2}`",
    "<script>window.__pwned=3</script>",
    "{{7*7}} ${alert(4)}",
]


@pytest.fixture
def hostile_names(make, catalog):
    town = make.jurisdiction(
        f"Evil {PAYLOADS[0]} {PAYLOADS[1]}", "MN", key="evil", latitude=44.9, longitude=-93.1
    )
    make.jurisdiction("Calm Town", "OR", key="calm", latitude=45.5, longitude=-122.7)
    official = make.user(name=f"Mallory {PAYLOADS[2]}", jurisdiction=town, office_title=PAYLOADS[3])
    commitment = make.commitment(official, catalog[0], stage=Stage.PASSED)
    commitment.note = " ".join(PAYLOADS)
    from campaign.extensions import db

    db.session.commit()
    return town


def test_map_draws_from_app_assets_and_shows_injected_text_as_text(visit, hostile_names):
    page = visit.page
    visit.goto("/map/")
    frame = page.locator(".folium-map")
    expect(frame).to_have_attribute("data-loaded", "1")
    assert page.evaluate("typeof L === 'object' && typeof L.markerClusterGroup === 'function'")
    assert page.evaluate("document.querySelectorAll('.leaflet-overlay-pane path').length") > 50

    marker = page.locator("path.campaign-marker")
    expect(marker).to_have_count(1)
    marker.click(force=True)
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Cancel ALPR contracts")
    expect(popup).to_contain_text(PAYLOADS[2])  # the official's name, shown literally
    expect(popup).to_contain_text(PAYLOADS[0])
    assert popup.locator("img, script").count() == 0

    table = page.get_by_role("table")
    expect(table).to_contain_text(PAYLOADS[1])
    assert page.evaluate("window.__pwned === undefined")
    visit.check_accessibility()


def test_the_states_show_before_the_map_script_runs_where_leaflet_draws_them(visit, hostile_names):
    """The page holds the states' outline itself: with the map's script held back (a slow
    line, or JavaScript off) it is there; once Leaflet draws, its states lie on the same
    pixels, and the page's copy is gone."""
    page = visit.page
    page.route("**/vendor/bundle/map.js*", lambda route: route.abort())
    visit.goto("/map/")
    sketch = page.locator(".folium-map .map-sketch path")
    expect(sketch).to_have_count(1)
    assert sketch.bounding_box()["width"] > 300  # drawn, at the opening zoom's scale
    starts = [
        [int(x), int(y)] for x, y in re.findall(r"M(-?\d+) (-?\d+)", sketch.get_attribute("d"))
    ]
    assert len(starts) > 300  # an arc per border
    page.unroute("**/vendor/bundle/map.js*")

    visit.goto("/map/")
    frame = page.locator(".folium-map")
    expect(frame).to_have_attribute("data-loaded", "1")
    expect(page.locator(".map-sketch")).to_have_count(0)
    # How far each of the sketch's arcs starts from the nearest corner of Leaflet's states,
    # both measured from the middle of the map's box.
    distances = page.evaluate(
        """(starts) => {
          const map = window[document.querySelector('.folium-map').id];
          const size = map.getSize(), corners = [];
          const walk = (ll) => Array.isArray(ll) ? ll.forEach(walk) : corners.push(
            map.latLngToContainerPoint(ll).subtract([size.x / 2, size.y / 2]));
          map.eachLayer((layer) => {
            if (layer.getLatLngs && !(layer instanceof L.CircleMarker)) walk(layer.getLatLngs());
          });
          const nearest = ([x, y]) => Math.min(...corners.map((c) => Math.hypot(c.x - x, c.y - y)));
          return starts.map(nearest);
        }""",
        starts,
    )
    assert max(distances) <= 1.5
    visit.check_accessibility()


def test_dashboard_renders_accessibly_with_injected_names(visit, make, hostile_names):
    make.user(Role.ORGANIZER, email="org@example.org")
    page = visit.page
    page.goto(visit.base_url + "/login")
    page.get_by_label("Email").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    visit.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaign dashboard")
    expect(page.locator(".recent")).to_contain_text(PAYLOADS[2])
    assert page.evaluate("window.__pwned === undefined")
    visit.goto(f"/policies/{'cancel-alpr-contracts'}")
    assert page.evaluate("window.__pwned === undefined")


def test_county_boundaries_load_only_when_turned_on_and_tooltips_when_pointed_at(
    visit, hostile_names
):
    page = visit.page
    county_requests = []
    page.on("request", lambda r: "counties-10m.json" in r.url and county_requests.append(r.url))
    visit.goto("/map/")
    frame = page.locator(".folium-map")
    expect(frame).to_have_attribute("data-loaded", "1")
    assert county_requests == []  # the national view draws states and markers only

    marker = page.locator("path.campaign-marker")
    marker.hover(force=True)
    expect(page.locator(".leaflet-tooltip")).to_have_text(f"Evil {PAYLOADS[0]} {PAYLOADS[1]}, MN")
    assert page.locator(".leaflet-tooltip img").count() == 0

    page.get_by_label("Counties").check()
    expect(frame).to_have_attribute("data-counties", "drawn")
    assert len(county_requests) == 1
    assert (
        page.evaluate("document.querySelectorAll('.leaflet-campaignAreas-pane path').length") > 3000
    )
    page.get_by_label("Counties").uncheck()
    assert (
        page.evaluate("document.querySelectorAll('.leaflet-campaignAreas-pane path').length") == 0
    )
    visit.check_accessibility()


def test_zooming_in_by_keyboard_to_county_level_draws_the_counties(visit, hostile_names):
    page = visit.page
    visit.goto("/map/")
    frame = page.locator(".folium-map")
    expect(frame).to_have_attribute("data-loaded", "1")
    assert frame.get_attribute("data-counties") is None
    frame.focus()
    leaflet = "window[document.querySelector('.folium-map').id]"
    # A person presses again once the map has settled; a key pressed mid-animation is
    # dropped by Leaflet, so wait for each zoom to end, not only for its new level.
    page.evaluate(
        f"() => {{ window.zoomsEnded = 0; {leaflet}.on('zoomend', () => window.zoomsEnded++) }}"
    )
    for presses, level in enumerate((5, 6), start=1):  # one key press at a time
        page.keyboard.press("Equal")
        page.wait_for_function(
            f"() => window.zoomsEnded === {presses} && {leaflet}.getZoom() === {level}"
        )
    expect(frame).to_have_attribute("data-counties", "drawn")
    expect(page.get_by_label("Counties")).to_be_checked()


def test_map_and_dashboard_filter_through_their_forms(visit, make, catalog):
    """An organizer filters by choosing from the labelled form, never by editing the URL."""
    oregon = make.jurisdiction("Salem", "OR", key="salem", latitude=44.9, longitude=-123.0)
    texas = make.jurisdiction("Austin", "TX", key="austin", latitude=30.3, longitude=-97.7)
    make.commitment(make.user(name="Olive Oregon", jurisdiction=oregon), catalog[0])
    make.commitment(make.user(name="Tess Texas", jurisdiction=texas), catalog[1])
    make.user(Role.ORGANIZER, email="org@example.org")
    page = visit.page

    visit.goto("/map/")
    summary = page.locator("p.summary")
    expect(summary).to_contain_text("2 jurisdictions shown")
    page.get_by_label("State", exact=True).select_option(label="Oregon")
    page.get_by_role("button", name="Apply filter").click()
    expect(summary).to_contain_text("1 jurisdiction shown")
    expect(page.get_by_role("table")).to_contain_text("Salem")
    expect(page.get_by_role("table")).not_to_contain_text("Austin")
    expect(page.get_by_label("State", exact=True)).to_have_value("OR")
    visit.check_accessibility()

    page.goto(visit.base_url + "/login")
    page.get_by_label("Email").fill("org@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    visit.goto("/dashboard/")
    jurisdictions = page.locator(".stat-grid li", has_text="jurisdictions").locator(".stat")
    expect(jurisdictions).to_have_text("2")
    page.get_by_label("Policy", exact=True).select_option(label=catalog[1].short_title)
    page.get_by_role("button", name="Apply filter").click()
    expect(jurisdictions).to_have_text("1")
    expect(page.get_by_label("Policy", exact=True)).to_have_value(catalog[1].slug)
    visit.check_accessibility()
