"""The vendored front-end files the app serves: current with the pins, and what is derived
from them (the map's bundle and the states' outline) still drawing the same places."""

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import vendor_assets  # noqa: E402

VENDOR = ROOT / "static" / "vendor"


def absolute_arcs(topology: dict) -> list[list[tuple[int, int]]]:
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((x, y))
        arcs.append(points)
    return arcs


@pytest.mark.skipif(
    not (ROOT / "node_modules" / "leaflet").is_dir(), reason="npm ci has not been run"
)
def test_the_committed_vendor_files_are_those_the_pins_make():
    assert vendor_assets.stale(ROOT / "node_modules", VENDOR) == []


def test_the_states_outline_draws_every_state_with_a_third_of_the_points_and_borders_meeting():
    full = json.loads((VENDOR / "us-atlas" / "states-10m.json").read_text())
    outline = json.loads((VENDOR / "bundle" / "states-outline.json").read_text())

    assert outline["objects"]["states"] == full["objects"]["states"]  # same states, same arcs
    full_arcs, outline_arcs = absolute_arcs(full), absolute_arcs(outline)
    assert len(outline_arcs) == len(full_arcs)
    # Each border keeps its ends, so the two states it separates still meet exactly.
    for before, after in zip(full_arcs, outline_arcs, strict=True):
        assert (after[0], after[-1]) == (before[0], before[-1])
        assert set(after) <= set(before)
    points = sum(map(len, outline_arcs))
    assert points < 0.4 * sum(map(len, full_arcs))


def test_no_kept_point_strays_from_the_border_it_simplifies():
    """Douglas-Peucker's promise: every dropped point is within the tolerance of the line."""
    scale = (1.0, 1.0)
    zigzag = [(i, (i % 2) * 3) for i in range(11)]  # 3 units of wobble
    assert vendor_assets._simplified(zigzag, scale) == list(range(11))  # all kept at 0.04
    flat = [(i, 0) for i in range(11)]
    assert vendor_assets._simplified(flat, scale) == [0, 10]


def test_the_map_bundle_keeps_each_library_and_its_licence():
    bundle = (VENDOR / "bundle" / "map.js").read_text()
    for part in vendor_assets.BUNDLES["map.js"]:
        assert f"/* {part} */" in bundle
    assert "Leaflet 1.9.4" in bundle and "(c) 2010-2023 Vladimir Agafonkin" in bundle
    assert "sourceMappingURL" not in bundle
