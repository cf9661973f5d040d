"""Properties of the import validators: whatever a spreadsheet holds, they answer or refuse
with a message; they never crash an import or invent data."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.imports.sheets import parse_date, parse_stage, parse_visibility
from campaign.imports.spreadsheet import SpreadsheetError, guess_mapping, read_sheet

PROPERTIES = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,  # CI runs the same examples every time
    suppress_health_check=[HealthCheck.too_slow],
)
cells = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)


@PROPERTIES
@given(cells)
def test_any_stage_cell_is_read_or_refused_never_a_crash(text):
    stage = parse_stage(text)
    assert stage is None or isinstance(stage, Stage)


@pytest.mark.parametrize(
    ("written", "stage"),
    [
        ("PASSED", Stage.PASSED),
        ("  adopted ", Stage.PASSED),
        ("Voted", Stage.PASSED),
        ("In Effect", Stage.IMPLEMENTED),
        ("Signed on", Stage.PLEDGED),
        ("", Stage.PLEDGED),  # a row with no stage records the pledge
        ("On-Hold", Stage.STALLED),
        ("in committee", Stage.INTRODUCED),
        ("Canceled!", Stage.WITHDRAWN),
        ("No longer", Stage.WITHDRAWN),
    ],
)
def test_stage_words_staff_write_in_any_case_and_padding(written, stage):
    assert parse_stage(written) == stage


@pytest.mark.parametrize("stage", list(Stage))
def test_a_negated_or_unknown_stage_is_refused_not_guessed(stage):
    assert parse_stage(f"not {stage.value}") is None
    assert parse_stage(f"{stage.value} maybe") is None


@pytest.mark.parametrize(
    ("written", "visibility"),
    [
        ("Public", Visibility.PUBLIC),
        ("YES", Visibility.PUBLIC),
        ("Counted, not named", Visibility.COUNTED),
        ("", Visibility.COUNTED),  # nobody is named without saying so
        ("no", Visibility.COUNTED),
        ("Staff only", Visibility.PRIVATE),
        ("CONFIDENTIAL", Visibility.PRIVATE),
    ],
)
def test_visibility_words_in_any_case(written, visibility):
    assert parse_visibility(written) == visibility


@PROPERTIES
@given(cells)
def test_dates_parse_or_raise_a_value_error_with_the_cell_in_it(text):
    try:
        value = parse_date(text)
    except ValueError as error:
        assert "is not a date we can read" in str(error)
    else:
        assert value is None or isinstance(value, date)
        assert (value is None) == (not text.strip())


@PROPERTIES
@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)))
def test_every_date_format_staff_use_reads_back_the_same_day(day):
    for written in (day.isoformat(), f"{day.month}/{day.day}/{day.year}",
                    day.strftime("%B %d, %Y"), day.strftime("%d %b %Y")):  # fmt: skip
        assert parse_date(written) == day


@PROPERTIES
@given(st.binary(max_size=2000))
def test_any_upload_is_read_or_refused_with_a_reason(data):
    try:
        sheet = read_sheet(data, "upload.bin")
    except SpreadsheetError as error:
        assert str(error)
    else:
        assert sheet.headers and all(sheet.headers)
        assert len(set(sheet.headers)) == len(sheet.headers)
        assert all(len(cells) == len(sheet.headers) for _n, cells in sheet.rows)
        assert all("\x00" not in c and "\u202e" not in c for _n, r in sheet.rows for c in r)


@PROPERTIES
@given(st.lists(st.lists(cells, min_size=1, max_size=6), min_size=2, max_size=8))
def test_a_csv_keeps_its_columns_and_the_row_numbers_excel_shows(rows):
    width = max(len(r) for r in rows)
    rows = [[*r, *([""] * (width - len(r)))] for r in rows]
    rows[0] = [f"Column {i}" for i in range(width)]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    try:
        sheet = read_sheet(out.getvalue().encode("utf-8"), "sheet.csv")
    except SpreadsheetError:
        return  # e.g. every data cell blank: "The file has no rows" is the right answer
    assert len(sheet.headers) == width
    for number, _cells in sheet.rows:
        assert 2 <= number <= len(rows)


@PROPERTIES
@given(st.lists(st.text(max_size=20), max_size=12))
def test_a_mapping_never_uses_one_column_twice(headers):
    mapping = guess_mapping(headers)
    used = [h for h in mapping.values() if h]
    assert len(used) == len(set(used))
    assert all(h in headers for h in used)


@PROPERTIES
@given(st.sampled_from(["Email", "E-mail", "Official Name", "City/County", "Date Pledged",
                        "Status", "Notes", "FIPS"]),
       st.sampled_from(["", " ", "  ", "_", " _ "]))  # fmt: skip
def test_a_header_in_other_capitals_or_padding_maps_to_the_same_field(header, padding):
    fields = {f: h for f, h in guess_mapping([header]).items() if h}
    variant = f"{padding}{header.upper()}{padding}"
    assert {f: h for f, h in guess_mapping([variant]).items() if h} == {f: variant for f in fields}
    assert fields  # each of these is a header staff use
