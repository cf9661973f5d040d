"""Copy the pinned front-end files from ``node_modules/`` into ``static/vendor/``.

The app serves every script, stylesheet and map file itself (no CDN), so a page works on a
locked-down network and nothing third-party learns who is looking at it. This script is the one
way those files get there: it refuses to copy unless each installed package is exactly the
pinned version, copies each package's licence alongside its files, and writes
``static/vendor/VERSIONS.txt`` so anyone can see what is being served.

Each package's files land flat in ``static/vendor/<package>/`` (``dist/`` is dropped, which
keeps relative URLs such as Leaflet's ``images/layers.png`` working, and keeps clear of the
``dist/`` line in ``.gitignore``). The licence is always saved as ``LICENSE``. The map's
script and stylesheet are also joined into ``static/vendor/bundle/`` (BUNDLES below), beside
a lighter outline of the states drawn first (OUTLINE_NAME).

Run from the repository root after ``npm ci``::

    python scripts/vendor_assets.py          # copy, then write VERSIONS.txt
    python scripts/vendor_assets.py --check  # change nothing; exit 1 if static/vendor is stale
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NODE_MODULES = REPO_ROOT / "node_modules"
DEFAULT_VENDOR_DIR = REPO_ROOT / "static" / "vendor"


@dataclass(frozen=True)
class Pin:
    """One package: the exact version served, and source → destination paths inside it."""

    name: str
    version: str
    files: dict[str, str]
    license_file: str = "LICENSE"


LEAFLET_IMAGES = (
    "layers.png",
    "layers-2x.png",
    "marker-icon.png",
    "marker-icon-2x.png",
    "marker-shadow.png",
)

PINS: tuple[Pin, ...] = (
    Pin(
        "leaflet",
        "1.9.4",
        {
            "dist/leaflet.js": "leaflet.js",
            "dist/leaflet.css": "leaflet.css",
            **{f"dist/images/{image}": f"images/{image}" for image in LEAFLET_IMAGES},
        },
    ),
    Pin(
        "leaflet.markercluster",
        "1.5.3",
        {
            "dist/leaflet.markercluster.js": "leaflet.markercluster.js",
            "dist/MarkerCluster.css": "MarkerCluster.css",
            "dist/MarkerCluster.Default.css": "MarkerCluster.Default.css",
        },
        license_file="MIT-LICENCE.txt",
    ),
    Pin(
        "topojson-client",
        "3.1.0",
        {"dist/topojson-client.min.js": "topojson-client.min.js"},
    ),
    Pin(
        "us-atlas",
        "3.0.1",
        {"counties-10m.json": "counties-10m.json", "states-10m.json": "states-10m.json"},
    ),
)


# The map's vendor files joined into one script and one stylesheet, in this order: a
# browser on a slow link (or a Python server on a small machine) serves two requests
# sooner than six, and the map draws nothing before all of them have run. Built from the
# copies above, so a version bump rebuilds them; source-map comments are dropped (the maps
# are not served) and Leaflet's image URLs are made relative to the bundle's folder.
BUNDLE_DIR = "bundle"
BUNDLES: dict[str, tuple[str, ...]] = {
    "map.js": (
        "leaflet/leaflet.js",
        "leaflet.markercluster/leaflet.markercluster.js",
        "topojson-client/topojson-client.min.js",
    ),
    "map.css": (
        "leaflet/leaflet.css",
        "leaflet.markercluster/MarkerCluster.css",
        "leaflet.markercluster/MarkerCluster.Default.css",
    ),
}


def bundle_text(vendor_dir: Path, name: str) -> str:
    """One bundle's content, from the vendored files (each one's licence comment kept)."""
    parts = []
    for relative in BUNDLES[name]:
        text = (vendor_dir / relative).read_text(encoding="utf-8")
        text = "\n".join(
            line for line in text.splitlines() if not line.startswith("//# sourceMappingURL=")
        )
        if name.endswith(".css"):
            folder = relative.rsplit("/", 1)[0]
            text = text.replace("url(images/", f"url(../{folder}/images/")
        parts.append(f"/* {relative} */\n{text}\n")
    return (";\n" if name.endswith(".js") else "").join(parts)


# The states' outline the map draws first: us-atlas's states with each shared border
# simplified (Douglas-Peucker) to OUTLINE_TOLERANCE degrees, about half a pixel at the
# map's opening zoom. A third of the points, so Leaflet's first drawing, before its code is
# optimised, takes a third of the time; the full states replace it once shaded.
OUTLINE_NAME = "states-outline.json"
OUTLINE_TOLERANCE = 0.04


def _simplified(points: list[tuple[int, int]], scale: tuple[float, float]) -> list[int]:
    """Indexes of the points Douglas-Peucker keeps (the ends always): borders shared by two
    states are one arc, simplified once, so neighbours still meet exactly."""
    sx, sy = scale
    keep = {0, len(points) - 1}
    spans = [(0, len(points) - 1)]
    while spans:
        first, last = spans.pop()
        ax, ay = points[first][0] * sx, points[first][1] * sy
        dx, dy = points[last][0] * sx - ax, points[last][1] * sy - ay
        length2 = dx * dx + dy * dy
        farthest, where = 0.0, None
        for i in range(first + 1, last):
            px, py = points[i][0] * sx - ax, points[i][1] * sy - ay
            u = 0.0 if length2 == 0 else max(0.0, min(1.0, (px * dx + py * dy) / length2))
            distance2 = (px - u * dx) ** 2 + (py - u * dy) ** 2
            if distance2 > farthest:
                farthest, where = distance2, i
        if where is not None and farthest > OUTLINE_TOLERANCE**2:
            keep.add(where)
            spans += [(first, where), (where, last)]
    return sorted(keep)


def states_outline_text(vendor_dir: Path) -> str:
    topology = json.loads((vendor_dir / "us-atlas" / "states-10m.json").read_text("utf-8"))
    scale = tuple(topology["transform"]["scale"])
    arcs = []
    for arc in topology["arcs"]:  # quantized and delta-encoded (TopoJSON)
        points, x, y = [], 0, 0
        for step_x, step_y in arc:
            x, y = x + step_x, y + step_y
            points.append((x, y))
        kept = [points[i] for i in _simplified(points, scale)]
        arcs.append([list(kept[0])] + [[b[0] - a[0], b[1] - a[1]] for a, b in pairwise(kept)])
    outline = {
        "type": "Topology",
        "bbox": topology["bbox"],
        "transform": topology["transform"],
        "objects": {"states": topology["objects"]["states"]},
        "arcs": arcs,
    }
    return json.dumps(outline, separators=(",", ":")) + "\n"


def _bundles_to_write(vendor_dir: Path) -> list[tuple[Path, str]]:
    wanted = []
    made = {name: bundle_text(vendor_dir, name) for name in BUNDLES}
    made[OUTLINE_NAME] = states_outline_text(vendor_dir)
    for name, text in made.items():
        target = vendor_dir / BUNDLE_DIR / name
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            wanted.append((target, text))
    return wanted


class VendorError(Exception):
    """Something a person must fix before the files can be copied; the message says what."""


def installed_version(node_modules: Path, package: str) -> str | None:
    """The version npm installed, or None when the package is not installed at all."""
    manifest = node_modules / package / "package.json"
    if not manifest.is_file():
        return None
    return json.loads(manifest.read_text(encoding="utf-8")).get("version")


def planned_copies(node_modules: Path, vendor_dir: Path) -> list[tuple[Path, Path]]:
    """Every (source, destination) pair, after checking versions and that each source exists.

    All problems are collected first, so one run tells a person everything that is wrong.
    """
    problems: list[str] = []
    copies: list[tuple[Path, Path]] = []
    for pin in PINS:
        found = installed_version(node_modules, pin.name)
        if found is None:
            problems.append(f"{pin.name} is not installed in {node_modules}.")
            continue
        if found != pin.version:
            problems.append(
                f"{pin.name} is {found} in {node_modules}, but {pin.version} is pinned."
            )
            continue
        source_dir = node_modules / pin.name
        target_dir = vendor_dir / pin.name
        pairs = {**pin.files, pin.license_file: "LICENSE"}
        for source, target in pairs.items():
            if not (source_dir / source).is_file():
                problems.append(f"{pin.name}@{pin.version} has no {source}.")
            copies.append((source_dir / source, target_dir / target))
    if problems:
        hint = "Run `npm ci` (or check package.json against the pins in this script)."
        raise VendorError("\n".join([*problems, hint]))
    return copies


def versions_text() -> str:
    return "".join(f"{pin.name}@{pin.version}\n" for pin in sorted(PINS, key=lambda p: p.name))


def _same_bytes(a: Path, b: Path) -> bool:
    return b.is_file() and a.read_bytes() == b.read_bytes()


def vendor(node_modules: Path, vendor_dir: Path) -> list[Path]:
    """Copy what differs and write VERSIONS.txt; returns the files that changed.

    Unchanged files are not rewritten, so a rerun leaves the working tree untouched.
    """
    changed: list[Path] = []
    for source, target in planned_copies(node_modules, vendor_dir):
        if _same_bytes(source, target):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        changed.append(target)
    for target, text in _bundles_to_write(vendor_dir):
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
        changed.append(target)
    versions = vendor_dir / "VERSIONS.txt"
    if not versions.is_file() or versions.read_text(encoding="utf-8") != versions_text():
        versions.write_text(versions_text(), encoding="utf-8", newline="\n")
        changed.append(versions)
    return changed


def stale(node_modules: Path, vendor_dir: Path) -> list[Path]:
    """Files in vendor_dir that a run would change: for CI, without writing anything."""
    result = [
        target
        for source, target in planned_copies(node_modules, vendor_dir)
        if not _same_bytes(source, target)
    ]
    if not result:  # bundles are built from the copies: only comparable once those are current
        result += [target for target, _text in _bundles_to_write(vendor_dir)]
    versions = vendor_dir / "VERSIONS.txt"
    if not versions.is_file() or versions.read_text(encoding="utf-8") != versions_text():
        result.append(versions)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, default=DEFAULT_NODE_MODULES)
    parser.add_argument("--vendor-dir", type=Path, default=DEFAULT_VENDOR_DIR)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if static/vendor is stale"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            outdated = stale(args.node_modules, args.vendor_dir)
            for path in outdated:
                print(f"out of date: {path.relative_to(args.vendor_dir)}", file=sys.stderr)
            if outdated:
                print("Run `python scripts/vendor_assets.py` to update.", file=sys.stderr)
            return 1 if outdated else 0
        changed = vendor(args.node_modules, args.vendor_dir)
    except VendorError as error:
        print(f"vendor_assets: {error}", file=sys.stderr)
        return 1
    for path in changed:
        print(f"wrote {path.relative_to(args.vendor_dir)}")
    print(f"{len(changed)} file(s) changed in {args.vendor_dir}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
