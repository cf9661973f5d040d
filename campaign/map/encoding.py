"""The map's data on the wire: map_payload's figures in a compact, columnar form.

map_payload (data.py) decides *what* the map shows; this module only decides how it
travels, so the two change independently. At national scale the payload is ~15,000 markers,
and the browser waits for it before it draws them: one row object per marker repeats its
field names and full-precision coordinates ~15,000 times. Here every field is one column:

- coordinates are integers in 1/`precision` degrees (1/10,000: about 11 m, what
  map_payload rounds to), delta-coded along the rows, which are sorted west to east in
  bands of latitude so that neighbours on the map are neighbours in the file: most deltas
  are a digit or two;
- stages and kinds, small categories, are one character per marker in a string;
- labels ("Springfield, IL") are a name and the number of a shared suffix (", IL");
- any other field (key, label, commitments, or one map_payload adds later) is a plain column;
- counties are FIPS codes delta-coded in numeric order, with their counts beside them.

`decode_payload` is the exact inverse (static/js/adoption-map.js has the same in JS), so
tests read the figures as map_payload made them.
"""

from __future__ import annotations

PRECISION = 10_000
BAND_DEGREES = 1  # rows are ordered by 1° latitude band, then longitude

# Fields coded specially; any other field map_payload adds travels as a plain column.
CODED_FIELDS = ("lat", "lon", "kind", "stage", "label")


def _deltas(values: list[int]) -> list[int]:
    previous = 0
    out = []
    for value in values:
        out.append(value - previous)
        previous = value
    return out


def _undelta(deltas: list[int]) -> list[int]:
    total = 0
    out = []
    for delta in deltas:
        total += delta
        out.append(total)
    return out


def _categories(values: list[str]) -> tuple[list[str], str]:
    """Values as one character each (their index in the returned list, in base 36)."""
    names = sorted(set(values))
    if len(names) > 36:
        raise ValueError("more than 36 categories do not fit one character each")
    index = {name: "0123456789abcdefghijklmnopqrstuvwxyz"[i] for i, name in enumerate(names)}
    return names, "".join(index[value] for value in values)


def _split_labels(labels: list[str]) -> tuple[list[str], list[str], list[int]]:
    """A label such as "Springfield, IL" as the name and the suffix ", IL", which thousands of
    labels share: one small number each (runs of the same state, as rows are ordered)."""
    names, codes, suffix_index = [], [], {}
    for label in labels:
        name, comma, rest = label.rpartition(", ")
        if not comma:
            name, rest = label, ""
        suffix = comma + rest
        names.append(name)
        codes.append(suffix_index.setdefault(suffix, len(suffix_index)))
    return names, list(suffix_index), codes


def encode_payload(payload: dict) -> dict:
    """map_payload's output, columnar (see the module docstring)."""
    fields = payload["fields"]
    position = {name: i for i, name in enumerate(fields)}
    rows = payload["points"]
    lat = [round(row[position["lat"]] * PRECISION) for row in rows]
    lon = [round(row[position["lon"]] * PRECISION) for row in rows]
    band = PRECISION * BAND_DEGREES
    order = sorted(range(len(rows)), key=lambda i: (lat[i] // band, lon[i], lat[i]))
    kinds, kind_codes = _categories([rows[i][position["kind"]] for i in order])
    if any(not 0 <= rows[i][position["stage"]] <= 9 for i in order):
        raise ValueError("a stage index does not fit one digit")
    stages = "".join(str(rows[i][position["stage"]]) for i in order)
    names, suffixes, suffix_codes = _split_labels([rows[i][position["label"]] for i in order])
    columns = {
        name: [rows[i][column] for i in order]
        for name, column in position.items()
        if name not in CODED_FIELDS
    }
    counties = sorted(payload["counties"].items(), key=lambda item: int(item[0]))
    return {
        "stages": payload["stages"],
        "states": payload["states"],
        "counties": {
            "fips": _deltas([int(fips) for fips, _count in counties]),
            "width": 5,
            "count": [count for _fips, count in counties],
        },
        "points": {
            "fields": fields,
            "count": len(rows),
            "precision": PRECISION,
            "lat": _deltas([lat[i] for i in order]),
            "lon": _deltas([lon[i] for i in order]),
            "kinds": kinds,
            "kind": kind_codes,
            "stage": stages,
            "name": names,
            "suffixes": suffixes,
            "suffix": suffix_codes,
            "columns": columns,
        },
    }


def decode_payload(encoded: dict) -> dict:
    """encode_payload's inverse: map_payload's shape, rows in the encoded order."""
    points = encoded["points"]
    precision = points["precision"]
    lat = _undelta(points["lat"])
    lon = _undelta(points["lon"])
    decoded = {
        "lat": [value / precision for value in lat],
        "lon": [value / precision for value in lon],
        "kind": [points["kinds"][int(code, 36)] for code in points["kind"]],
        "stage": [int(code) for code in points["stage"]],
        "label": [
            name + points["suffixes"][code]
            for name, code in zip(points["name"], points["suffix"], strict=True)
        ],
        **points["columns"],
    }
    columns = [decoded[name] for name in points["fields"]]
    rows = [[column[i] for column in columns] for i in range(points["count"])]
    counties = encoded["counties"]
    fips = _undelta(counties["fips"])
    return {
        "stages": encoded["stages"],
        "fields": points["fields"],
        "points": rows,
        "states": encoded["states"],
        "counties": {
            str(code).zfill(counties["width"]): count
            for code, count in zip(fips, counties["count"], strict=True)
        },
    }
