"""Downloads people open in the tools they already use: CSV for spreadsheets, GeoJSON for maps.

Every feature builds its exports here, so each one gets the same protections:
- CSV is UTF-8 with a byte-order mark, so Excel shows "Doña Ana" rather than mojibake;
- text cells that a spreadsheet would run as a formula are defused (OWASP "CSV injection");
- GeoJSON follows RFC 7946, so QGIS, GDAL and web maps read it without guessing;
- both are streamed, so a large export never sits whole in memory, and both are marked as
  attachments that must not be cached or sniffed as something else.

Rows and features may come from a lazy database query: when called inside a request, the
stream keeps the request (and so the app and its database session) alive until it ends.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import enum
import io
import json
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask import Response, has_request_context, stream_with_context
from unidecode import unidecode

# OWASP: a cell starting with one of these may be run as a formula by Excel, LibreOffice or
# Google Sheets (tab and carriage return because some of them strip those first).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
GEOJSON_CONTENT_TYPE = "application/geo+json"
COORDINATE_DECIMALS = 6  # about 11 cm: more precision than any address has, less noise

_ROWS_PER_CHUNK = 500


def neutralize_cell(value: Any) -> Any:
    """The value as a spreadsheet should see it: text that looks like a formula gets a `'`.

    Only real numbers (int, float, Decimal) are passed through untouched; a string such as
    "-5" is text someone typed, and is treated like any other text. None becomes an empty
    cell, dates and times their ISO form.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, dt.date | dt.time):  # datetime is a date
        return value.isoformat()
    if isinstance(value, enum.Enum) and not isinstance(value, str):
        return neutralize_cell(value.value)
    text = str(value)
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def csv_response(filename: str, header: list[str], rows: Iterable[Sequence]) -> Response:
    """A CSV download that opens intact in Excel and cannot smuggle formulas into it."""

    def generate() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([neutralize_cell(cell) for cell in header])
        yield codecs.BOM_UTF8 + _drain(buffer)
        for count, row in enumerate(rows, start=1):
            writer.writerow([neutralize_cell(cell) for cell in row])
            if count % _ROWS_PER_CHUNK == 0:
                yield _drain(buffer)
        yield _drain(buffer)

    return _download(generate(), filename, CSV_CONTENT_TYPE)


def point_feature(
    longitude: float | None,
    latitude: float | None,
    properties: Mapping[str, Any],
    feature_id: str | int | None = None,
) -> dict:
    """An RFC 7946 Point feature; a place with no known coordinates gets a null geometry.

    Raises ValueError for coordinates outside the globe, which usually means latitude and
    longitude were swapped.
    """
    feature: dict[str, Any] = {"type": "Feature"}
    if feature_id is not None:
        feature["id"] = feature_id
    feature["geometry"] = _point(longitude, latitude)
    feature["properties"] = _json_safe(dict(properties))
    return feature


def geojson_response(filename: str, features: Iterable[dict]) -> Response:
    """An RFC 7946 FeatureCollection download (WGS 84, so no `crs` member)."""

    def generate() -> Iterator[bytes]:
        yield b'{"type":"FeatureCollection","features":['
        for index, feature in enumerate(features):
            text = json.dumps(
                feature,
                default=_json_default,
                ensure_ascii=False,
                allow_nan=False,
                separators=(",", ":"),
            )
            yield (("," if index else "") + "\n" + text).encode("utf-8")
        yield b"\n]}\n"

    return _download(generate(), filename, GEOJSON_CONTENT_TYPE)


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the exact name per RFC 5987/6266."""
    name = _CONTROL_OR_PATH.sub("_", filename).strip() or "download"
    ascii_name = _NOT_SAFE_ASCII.sub("_", unidecode(name)).strip(" .") or "download"
    encoded = quote(name, safe="!#$&+^`|~")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


_CONTROL_OR_PATH = re.compile(r"[\x00-\x1f\x7f/\\]")
_NOT_SAFE_ASCII = re.compile(r"[^A-Za-z0-9._ ()-]")


def _download(body: Iterator[bytes], filename: str, content_type: str) -> Response:
    if has_request_context():
        body = stream_with_context(body)
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = content_disposition(filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


def _point(longitude: float | None, latitude: float | None) -> dict | None:
    if longitude is None or latitude is None:
        return None
    longitude, latitude = float(longitude), float(latitude)
    if not (math.isfinite(longitude) and math.isfinite(latitude)):
        return None
    if not (-180 <= longitude <= 180 and -90 <= latitude <= 90):
        raise ValueError(
            f"({longitude}, {latitude}) is not a longitude, latitude pair; swapped arguments?"
        )
    # `+ 0.0` turns -0.0 into 0.0, so a rounded value never prints as "-0.0".
    coordinates = [round(c, COORDINATE_DECIMALS) + 0.0 for c in (longitude, latitude)]
    return {"type": "Point", "coordinates": coordinates}


def _json_safe(value: Any) -> Any:
    """Plain JSON values all the way down, so the feature can be serialised anywhere."""
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return _json_safe(_json_default(value))


def _json_default(value: Any) -> Any:
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value) if value.is_finite() else None
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable: {value!r}")


__all__ = [
    "content_disposition",
    "csv_response",
    "geojson_response",
    "neutralize_cell",
    "point_feature",
]
