"""The map's wire encoding: the same figures as map_payload made, in fewer bytes."""

from __future__ import annotations

import gzip
import json
import random

from hypothesis import given
from hypothesis import strategies as st

from campaign.map.encoding import decode_payload, encode_payload

FIELDS = ["key", "label", "kind", "lat", "lon", "commitments", "stage"]


def payload(rows, counties=None, fields=FIELDS):
    return {
        "stages": ["Pledged", "Introduced", "Passed", "Implemented", "Stalled"],
        "fields": fields,
        "points": rows,
        "states": {"27": 3, "06": 1},
        "counties": counties if counties is not None else {"27123": 2, "06001": 1},
    }


def sorted_rows(decoded):
    return sorted(decoded["points"])


row = st.tuples(
    st.from_regex(r"gn[0-9]{1,9}", fullmatch=True),
    st.one_of(
        st.text(max_size=30),
        st.builds(lambda n, s: f"{n}, {s}", st.text(max_size=20), st.sampled_from(["MN", "CA"])),
    ),
    st.sampled_from(["place", "school_district", "other"]),
    st.integers(-900_000, 900_000).map(lambda v: v / 10_000),
    st.integers(-1_800_000, 1_800_000).map(lambda v: v / 10_000),
    st.integers(1, 500),
    st.integers(0, 4),
).map(list)
fips = st.from_regex(r"[0-9]{5}", fullmatch=True)


@given(st.lists(row, max_size=40), st.dictionaries(fips, st.integers(1, 10_000), max_size=20))
def test_decoding_gives_back_every_figure_map_payload_made(rows, counties):
    original = payload(rows, counties)
    decoded = decode_payload(json.loads(json.dumps(encode_payload(original))))
    assert sorted_rows(decoded) == sorted(rows)
    assert decoded["counties"] == counties
    assert decoded["states"] == original["states"]
    assert decoded["stages"] == original["stages"]
    assert decoded["fields"] == FIELDS


def test_a_field_map_payload_adds_later_travels_as_a_plain_column():
    rows = [["gn1", "Ely, MN", "place", 47.9, -91.87, 2, 1, "withheld"]]
    original = payload(rows, fields=[*FIELDS, "note"])
    decoded = decode_payload(encode_payload(original))
    assert decoded["points"] == rows
    assert decoded["fields"] == [*FIELDS, "note"]


def test_neighbours_on_the_map_are_neighbours_on_the_wire():
    rows = [
        ["gn3", "East, MN", "place", 45.0, -92.0, 1, 0],
        ["gn1", "West, CA", "place", 36.0, -120.0, 1, 0],
        ["gn2", "Middle, MN", "place", 45.1, -93.0, 1, 0],
    ]
    encoded = encode_payload(payload(rows))
    assert encoded["points"]["columns"]["key"] == ["gn1", "gn2", "gn3"]


def test_many_markers_take_a_fifth_less_than_rows_after_compression():
    rng = random.Random(17)
    states = ["MN", "CA", "TX", "NY", "FL", "OH", "WA", "GA"]
    rows = [
        [
            f"gn{rng.randrange(4_000_000, 12_000_000)}",
            f"Town {rng.randrange(100_000)}, {rng.choice(states)}",
            "place",
            round(rng.uniform(25, 49), 4),
            round(rng.uniform(-124, -67), 4),
            rng.randrange(1, 9),
            rng.randrange(5),
        ]
        for _ in range(5_000)
    ]
    original = payload(rows)

    def wire(value):
        return len(gzip.compress(json.dumps(value, separators=(",", ":")).encode(), 6))

    # Random towns compress worse than real ones (the national campaign: 30% less).
    assert wire(encode_payload(original)) < 0.8 * wire(original)
