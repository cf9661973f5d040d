"""Build the folium map for a filter, with every asset served by the app.

folium's defaults load Leaflet, jQuery, Bootstrap and Font Awesome from CDNs and draw
OpenStreetMap tiles. Here the map gets no tile layer (boundaries are drawn from the app's own
TopoJSON) unless MAP_TILE_URL is configured, its asset lists point at static/vendor, and the
data arrives from JSON endpoints, so the page stays small however many jurisdictions commit.

static/js/adoption-map.js draws the layers; another overlay with its own JSON URL is one
`addLazyOverlay(name, url, draw)` call on the object campaignAdoptionMap returns (see the
script's opening comment), with the URL passed in AdoptionLayers' config like countiesUrl.
"""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import MacroElement
from flask import current_app, url_for
from jinja2 import Template
from markupsafe import Markup

from campaign.map.sketch import states_sketch

# The view the map opens on: the lower 48 states (and where the sketch is drawn for).
OPENING_CENTER = (39.5, -98.35)
OPENING_ZOOM = 4


class AdoptionLayers(MacroElement):
    """Hands the Leaflet map to static/js/adoption-map.js with the URLs it loads data from."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.campaignAdoptionMap({{ this._parent.get_name() }}, {{ this.config|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, config: dict):
        super().__init__()
        self._name = "AdoptionLayers"
        self.config = config


@dataclass(frozen=True)
class RenderedMap:
    stylesheets: list[str]
    scripts: list[str]
    body: Markup
    script: Markup
    # What the map fetches first, asked for by the page's <head> (rel=preload) so that it
    # arrives while the scripts load and run, not after.
    preloads: list[str]


def vendor_assets() -> tuple[list[str], list[str]]:
    """Leaflet, markercluster and topojson-client joined into one script and one stylesheet
    (static/vendor/bundle, made by scripts/vendor_assets.py): the map draws nothing before
    every script has run, and two requests arrive sooner than six."""
    css = [url_for("static", filename="vendor/bundle/map.css")]
    js = [
        url_for("static", filename="vendor/bundle/map.js"),
        url_for("static", filename="js/adoption-map.js"),
    ]
    return css, js


def build_map(data_url: str, detail_url: str) -> RenderedMap:
    css, js = vendor_assets()
    fmap = folium.Map(
        location=list(OPENING_CENTER),
        zoom_start=OPENING_ZOOM,
        min_zoom=2,
        max_zoom=12,
        tiles=None,
        control_scale=True,
        prefer_canvas=False,  # SVG markers: focusable, clickable, testable
    )
    # Instance attributes shadow folium's CDN lists; nothing below loads from elsewhere.
    fmap.default_js = [(f"asset{i}", url) for i, url in enumerate(js)]
    fmap.default_css = [(f"style{i}", url) for i, url in enumerate(css)]
    tile_url = current_app.config.get("MAP_TILE_URL")
    if tile_url:
        folium.TileLayer(
            tiles=tile_url,
            attr=current_app.config.get("MAP_TILE_ATTRIBUTION") or "Map tiles",
            name="Basemap",
        ).add_to(fmap)
    # A lighter outline is drawn first, the full states once shaded (scripts/vendor_assets.py).
    outline_url = url_for("static", filename="vendor/bundle/states-outline.json")
    AdoptionLayers(
        {
            "dataUrl": data_url,
            "detailUrl": detail_url,
            "outlineUrl": outline_url,
            "statesUrl": url_for("static", filename="vendor/us-atlas/states-10m.json"),
            "countiesUrl": url_for("static", filename="vendor/us-atlas/counties-10m.json"),
        }
    ).add_to(fmap)
    root = fmap.get_root()
    root.render()
    return RenderedMap(
        stylesheets=css,
        scripts=js,
        body=_with_sketch(root.html.render()),
        script=Markup(root.script.render()),  # noqa: S704 - config passes through tojson
        preloads=[outline_url, data_url],  # the outline is drawn first (adoption-map.js)
    )


def _with_sketch(body: str) -> Markup:
    """folium's map <div>, with the states' outline drawn inside it (sketch.py) for the
    browser to paint before Leaflet has run."""
    empty = '" ></div>'
    if body.count(empty) != 1:
        raise RuntimeError("folium's map markup changed: the sketch has no place to go")
    sketch = states_sketch(OPENING_CENTER, OPENING_ZOOM)
    return Markup(body.replace(empty, f'" >{sketch}</div>'))  # noqa: S704 - folium's and ours
