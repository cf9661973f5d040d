"""CSV and GeoJSON downloads: they open intact in spreadsheets and GIS tools, and stay safe.

These tests need no database: each export is served by a bare Flask app, as a browser would
receive it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from flask import Flask, Response, request
from werkzeug.test import TestResponse

from campaign.commitments.models import Visibility
from campaign.web.exports import (
    csv_response,
    geojson_response,
    neutralize_cell,
    point_feature,
)
from tests.conftest import IN_CI

OGRINFO = shutil.which("ogrinfo")


@pytest.fixture
def download() -> Callable[..., TestResponse]:
    """Serves one export from a bare Flask app and returns what the browser gets."""

    def fetch(view: Callable[[], Response], query: str = "") -> TestResponse:
        web = Flask(__name__)
        web.add_url_rule("/export", view_func=view)
        return web.test_client().get("/export" + query)

    return fetch


def read_csv(response: TestResponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"), newline="")))


def test_csv_opens_in_excel_with_accents_intact(download):
    response = download(lambda: csv_response("places.csv", ["Place"], [["Doña Ana County"]]))
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    assert read_csv(response) == [["Place"], ["Doña Ana County"]]


def test_csv_rows_end_with_crlf_as_spreadsheets_expect(download):
    response = download(lambda: csv_response("x.csv", ["a", "b"], [[1, 2], [3, 4]]))
    assert response.get_data().decode("utf-8-sig") == "a,b\r\n1,2\r\n3,4\r\n"


def test_csv_is_a_download_that_is_neither_cached_nor_sniffed(download):
    response = download(lambda: csv_response("commitments.csv", ["a"], []))
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        "attachment; filename=\"commitments.csv\"; filename*=UTF-8''commitments.csv"
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_an_accented_file_name_survives_with_an_ascii_fallback(download):
    response = download(lambda: csv_response('Doña Ana "2024"/all.csv', ["a"], []))
    disposition = response.headers["Content-Disposition"]
    disposition.encode("latin-1")  # a header a browser can read at all
    assert 'filename="Dona Ana _2024__all.csv"' in disposition
    assert "filename*=UTF-8''Do%C3%B1a%20Ana%20%222024%22_all.csv" in disposition


@pytest.mark.parametrize(
    "typed",
    [
        '=HYPERLINK("http://evil.example","click")',
        "+1+1",
        "-2+3",
        "@SUM(A1:A2)",
        "\t=1+1",
        "\r=1+1",
        "-5",
        "+1.5",
    ],
)
def test_text_a_spreadsheet_would_run_as_a_formula_is_shown_as_text(download, typed):
    assert neutralize_cell(typed) == "'" + typed
    response = download(lambda: csv_response("x.csv", ["note"], [[typed]]))
    assert read_csv(response)[1] == ["'" + typed]


@pytest.mark.parametrize("number", [-5, 0, 42, -1.5, 2.25, Decimal("-3.10")])
def test_real_numbers_stay_numbers(download, number):
    assert neutralize_cell(number) == number
    response = download(lambda: csv_response("x.csv", ["n"], [[number]]))
    assert read_csv(response)[1] == [str(number)]


def test_ordinary_text_is_left_exactly_as_typed():
    for text in ("Springfield", "O'Brien", "Apt 3-B", "50% done", "a=b", ""):
        assert neutralize_cell(text) == text


def test_empty_values_dates_and_choices_are_written_as_people_read_them(download):
    row = [None, dt.date(2024, 11, 5), dt.datetime(2024, 11, 5, 9, 30), Visibility.PUBLIC, True]
    response = download(lambda: csv_response("x.csv", list("abcde"), [row]))
    assert read_csv(response)[1] == ["", "2024-11-05", "2024-11-05T09:30:00", "public", "True"]


def test_commas_quotes_and_line_breaks_in_text_parse_back_unchanged(download):
    tricky = ["Smith, Jane", 'She said "yes"', "line one\nline two", "tab\tinside"]
    response = download(lambda: csv_response("x.csv", ["a", "b", "c", "d"], [tricky]))
    assert read_csv(response) == [["a", "b", "c", "d"], tricky]


def test_a_large_csv_is_streamed_rather_than_built_in_memory():
    consumed = 0

    def rows() -> Iterator[list[int]]:
        nonlocal consumed
        for n in range(100_000):
            consumed += 1
            yield [n]

    with Flask(__name__).test_request_context():
        response = csv_response("big.csv", ["n"], rows())
        assert response.is_streamed
        assert consumed == 0
        chunks = iter(response.response)
        next(chunks)
        next(chunks)
        assert 0 < consumed < 100_000


def test_rows_read_lazily_from_the_request_still_work_while_streaming(download):
    def view() -> Response:
        return csv_response("x.csv", ["who"], ([request.args["who"]] for _ in range(2)))

    response = download(view, "?who=Ana")
    assert read_csv(response) == [["who"], ["Ana"], ["Ana"]]


def sample_features() -> list[dict]:
    return [
        point_feature(
            -106.7637891,
            32.3199396,
            {"name": "Doña Ana County", "pledged": dt.date(2024, 11, 5), "count": 3},
            feature_id="county:35013",
        ),
        point_feature(-71.0588801, 42.3600834, {"name": "Boston", "count": 1}, feature_id=7),
    ]


def test_geojson_is_an_rfc_7946_feature_collection_in_longitude_latitude_order(download):
    response = download(lambda: geojson_response("places.geojson", sample_features()))
    assert response.headers["Content-Type"] == "application/geo+json"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="places.geojson"'
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    collection = json.loads(response.get_data())
    assert collection["type"] == "FeatureCollection"
    assert "crs" not in collection
    first, second = collection["features"]
    assert first == {
        "type": "Feature",
        "id": "county:35013",
        "geometry": {"type": "Point", "coordinates": [-106.763789, 32.31994]},
        "properties": {"name": "Doña Ana County", "pledged": "2024-11-05", "count": 3},
    }
    assert second["id"] == 7
    assert second["geometry"]["coordinates"] == [-71.05888, 42.360083]


def test_a_place_without_coordinates_is_kept_with_a_null_geometry(download):
    features = [point_feature(None, None, {"name": "Unmapped"}), point_feature(1.0, None, {})]
    response = download(lambda: geojson_response("x.geojson", features))
    collection = json.loads(response.get_data())
    assert [f["geometry"] for f in collection["features"]] == [None, None]
    assert collection["features"][0]["properties"] == {"name": "Unmapped"}
    assert "id" not in collection["features"][0]


def test_swapped_latitude_and_longitude_are_caught_before_anything_is_drawn():
    with pytest.raises(ValueError, match="swapped"):
        point_feature(42.36, -171.05, {})


def test_an_empty_geojson_export_is_still_a_valid_collection(download):
    response = download(lambda: geojson_response("none.geojson", []))
    assert json.loads(response.get_data()) == {"type": "FeatureCollection", "features": []}


def test_a_large_geojson_is_streamed_rather_than_built_in_memory():
    with Flask(__name__).test_request_context():
        response = geojson_response(
            "big.geojson", (point_feature(0, 0, {"n": n}) for n in range(10**9))
        )
        assert response.is_streamed
        chunks = iter(response.response)
        assert next(chunks) == b'{"type":"FeatureCollection","features":['
        assert json.loads(next(chunks))["properties"] == {"n": 0}


def test_gdal_reads_the_geojson_as_points_with_every_feature(download, tmp_path):
    if OGRINFO is None:
        message = "ogrinfo not found: install Debian's gdal-bin (make test does) to check with GDAL"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    response = download(lambda: geojson_response("places.geojson", sample_features()))
    path = tmp_path / "places.geojson"
    path.write_bytes(response.get_data())
    result = subprocess.run(  # noqa: S603 - fixed arguments, a file this test wrote
        [OGRINFO, "-ro", "-al", "-so", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert "Feature Count: 2" in result.stdout
    assert "Geometry: Point" in result.stdout
    assert "ERROR" not in result.stderr
