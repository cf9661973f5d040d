"""Reading staff spreadsheets (CSV or XLSX) into rows of text, and guessing what columns mean.

Spreadsheets arrive from Excel on Windows (cp1252, semicolons), from Google Sheets (UTF-8,
commas) and as .xlsx. Everything is read into plain strings here, once, so planning an import
never depends on the file format. Dates in XLSX cells become ISO strings.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime

from rapidfuzz import fuzz, process

MAX_ROWS = 50_000
MAX_COLUMNS = 100
MAX_CELL = 10_000
# An .xlsx is a zip of XML: refuse one that would expand past this (a zip bomb).
XLSX_MAX_EXPANDED = 200 * 1024 * 1024
XLSX_MAX_RATIO = 200


class SpreadsheetError(ValueError):
    """The file cannot be read as a spreadsheet; the message says why, for the uploader."""


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    # (row number as the spreadsheet shows it, cells padded to len(headers)); blank rows dropped
    rows: list[tuple[int, list[str]]]


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    synonyms: tuple[str, ...]
    required: bool = False


FIELDS: tuple[Field, ...] = (
    Field("official_name", "Official's name", ("name", "official", "official name", "full name",
          "contact", "contact name", "elected official", "member", "first and last name")),
    Field("email", "Email", ("email", "e mail", "email address", "official email", "mail"),
          required=True),
    Field("office", "Office", ("office", "title", "position", "role", "seat", "office title",
          "office held")),
    Field("phone", "Phone", ("phone", "telephone", "phone number", "mobile", "cell")),
    Field("jurisdiction", "Jurisdiction", ("jurisdiction", "city", "county", "municipality",
          "place", "locality", "city county", "town", "body", "jurisdiction name",
          "city or county", "district"), required=True),
    Field("state", "State", ("state", "st", "state code", "state name", "us state")),
    Field("fips", "FIPS code", ("fips", "geoid", "fips code", "county fips", "state fips")),
    Field("policy", "Policy", ("policy", "policies", "commitment", "pledge", "policy name",
          "committed to", "toolkit policy"), required=True),
    Field("stage", "Stage", ("stage", "status", "progress", "current stage", "current status")),
    Field("pledged_on", "Date pledged", ("pledged", "pledge date", "date pledged",
          "committed on", "date committed", "date", "pledged on", "commitment date")),
    Field("stage_date", "Date of the stage", ("stage date", "status date", "updated",
          "last update", "last updated", "date of status", "as of")),
    Field("target_date", "Target date", ("target", "target date", "deadline", "goal date")),
    Field("evidence_url", "Evidence link", ("evidence", "link", "url", "source", "evidence url",
          "evidence link")),
    Field("visibility", "Visibility", ("visibility", "public", "publish", "public ok",
          "can we publish", "named")),
    Field("notes", "Notes", ("notes", "note", "comments", "comment", "remarks", "details")),
)  # fmt: skip
FIELD_NAMES = tuple(f.name for f in FIELDS)
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def header_key(header: str) -> str:
    """ "E-mail Address " and "email_address" compare equal."""
    return " ".join(_NON_ALNUM.sub(" ", header.lower()).split())


def guess_mapping(headers: list[str], fields: tuple[Field, ...] = FIELDS) -> dict[str, str | None]:
    """{field: header} for each field whose header is recognisable; the person confirms it.

    `fields` are a commitment sheet's unless another import (layers/) names its own."""
    keys = {header_key(h): h for h in headers if header_key(h)}
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for field in fields:
        found = next((keys[s] for s in field.synonyms if s in keys and keys[s] not in taken), None)
        if found is None:
            choices = {h: k for k, h in keys.items() if h not in taken}
            best = process.extractOne(
                field.synonyms[0], choices, scorer=fuzz.ratio, score_cutoff=85
            )
            found = best[2] if best else None
        mapping[field.name] = found
        if found:
            taken.add(found)
    return mapping


def read_sheet(data: bytes, filename: str) -> Sheet:
    """Read an uploaded CSV or XLSX; format by content, not by the name it was given."""
    if not data.strip():
        raise SpreadsheetError("The file is empty.")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SpreadsheetError(
            "This is an old Excel .xls file. Save it as .xlsx or CSV and upload that."
        )
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SpreadsheetError(f"“{filename}” is not a CSV or XLSX spreadsheet.")
    return _read_csv(_decode(data))


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Windows saves "CSV" in the ANSI code page; cp1252 covers what it writes.
        return data.decode("cp1252", errors="replace")


def _read_csv(text: str) -> Sheet:
    # The header row says the delimiter: Excel in Europe writes ";", some exports tabs.
    # (csv.Sniffer guesses from the data, and a "|" in a note can fool it.)
    header_line = text.split("\n", 1)[0]
    delimiter = max(",;\t|", key=lambda d: (header_line.count(d), d == ","))
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        records = list(_limited(reader))
    except csv.Error as error:
        raise SpreadsheetError(f"The CSV could not be read: {error}.") from error
    return _sheet(records)


def _limited(records):
    for number, record in enumerate(records):
        if number > MAX_ROWS:
            raise SpreadsheetError(
                f"The file has more than {MAX_ROWS:,} rows. Split it and import each part."
            )
        yield record


def _read_xlsx(data: bytes) -> Sheet:
    # openpyxl parses with defusedxml when it is installed (it is a dependency), so entity
    # expansion attacks are refused; the size check below refuses zip bombs before parsing.
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            expanded = 0
            for info in archive.infolist():
                expanded += info.file_size
                if info.compress_size and info.file_size / info.compress_size > XLSX_MAX_RATIO:
                    raise SpreadsheetError("The file expands too much to be a real spreadsheet.")
            if expanded > XLSX_MAX_EXPANDED:
                raise SpreadsheetError("The file expands too much to be a real spreadsheet.")
    except zipfile.BadZipFile as error:
        raise SpreadsheetError("The file looks like an XLSX but is damaged.") from error
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged or foreign zip
        raise SpreadsheetError("The file could not be opened as an XLSX workbook.") from error
    try:
        sheet = workbook.worksheets[0]
        records = [
            [_cell_text(value) for value in row]
            for row in _limited(sheet.iter_rows(values_only=True))
        ]
    except SpreadsheetError:
        raise
    except Exception as error:  # a damaged sheet inside a sound zip: ParseError, ValueError...
        raise SpreadsheetError(
            "The workbook's first sheet is damaged and cannot be read."
        ) from error
    finally:
        workbook.close()
    return _sheet(records)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _sheet(records: list[list[str]]) -> Sheet:
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(_clean(c) for c in r)]
    if not numbered:
        raise SpreadsheetError("The file has no rows.")
    headers = [_clean(h) for h in numbered[0][1]]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise SpreadsheetError("The first row should hold the column names; it is empty.")
    if len(headers) > MAX_COLUMNS:
        raise SpreadsheetError(f"The file has more than {MAX_COLUMNS} columns.")
    seen: dict[str, int] = {}
    for i, header in enumerate(headers):
        header = header or f"Column {i + 1}"
        if header in seen:
            seen[header] += 1
            header = f"{header} ({seen[header]})"
        else:
            seen[header] = 1
        headers[i] = header
    width = len(headers)
    rows = [(n, [_clean(c) for c in ([*r] + [""] * width)[:width]]) for n, r in numbered[1:]]
    return Sheet(headers, rows)


# Control characters and the bidirectional overrides that can make a name read backwards.
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _clean(value) -> str:
    text = "" if value is None else str(value)
    return _INVISIBLE.sub("", text).strip()[:MAX_CELL]
