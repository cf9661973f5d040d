"""The states' outline drawn into the page itself, so the map shows something at first paint.

Leaflet draws nothing before its script has arrived and run and the outline's data has been
fetched (about a third of a second at national size, measured by `make bench`). The same
light outline (static/vendor/bundle/states-outline.json) is drawn here once per process as
an inline SVG path, projected as Leaflet projects it (Web Mercator, 256-pixel tiles) at the
map's opening view: the browser paints it with the page, and adoption-map.js removes it once
Leaflet's own outline is on the map, or as soon as the map moves. It needs no script, so
without JavaScript the page still shows the country's outline beside the table.

The SVG is decoration (aria-hidden): the table below the map carries the same information.
Its position needs no style attribute (the CSP allows none): a nested <svg> at x=50%, y=50%
puts the opening view's centre at the middle of the map's box, where Leaflet puts it.
"""

from __future__ import annotations

import json
import math
from functools import cache
from itertools import pairwise
from pathlib import Path

from markupsafe import Markup

STATIC = Path(__file__).resolve().parents[2] / "static"
OUTLINE = STATIC / "vendor" / "bundle" / "states-outline.json"
STROKE = "#3a3b40"  # adoption-map.js's outlineStyle
MAX_LATITUDE = 85.0511287798  # Leaflet's SphericalMercator clamps here


def project(longitude: float, latitude: float, zoom: int) -> tuple[float, float]:
    """Leaflet's EPSG:3857 pixel coordinates of a point at `zoom`."""
    size = 256 * 2**zoom
    latitude = max(-MAX_LATITUDE, min(MAX_LATITUDE, latitude))
    sine = math.sin(math.radians(latitude))
    x = size * (longitude + 180) / 360
    y = size * (0.5 - math.log((1 + sine) / (1 - sine)) / (4 * math.pi))
    return x, y


def _path(center: tuple[float, float], zoom: int) -> str:
    """Every arc of the outline once (a shared border is one arc), in whole pixels from the
    opening view's centre, relative moves after the first point of each arc."""
    topology = json.loads(OUTLINE.read_text("utf-8"))
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    cx, cy = project(center[1], center[0], zoom)
    parts = []
    for arc in topology["arcs"]:
        x = y = 0
        pixels = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            px, py = project(tx + x * sx, ty + y * sy, zoom)
            pixels.append((round(px - cx), round(py - cy)))
        steps = [f"M{pixels[0][0]} {pixels[0][1]}"]
        for (ax, ay), (bx, by) in pairwise(pixels):
            if (ax, ay) != (bx, by):
                steps.append(f"l{bx - ax} {by - ay}")
        if len(steps) > 1:
            parts.append("".join(steps))
    return "".join(parts)


@cache
def states_sketch(center: tuple[float, float], zoom: int) -> Markup:
    """The outline's SVG for a map opening at `center` (latitude, longitude) and `zoom`."""
    return Markup(  # noqa: S704 - numbers only, made here from a vendored file
        '<svg class="map-sketch" aria-hidden="true" focusable="false" width="100%" height="100%">'
        '<svg x="50%" y="50%" overflow="visible">'
        f'<path d="{_path(center, zoom)}" fill="none" stroke="{STROKE}" stroke-width="1"'
        ' stroke-linejoin="round"/></svg></svg>'
    )
