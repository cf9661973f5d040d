"""Field filters and validators shared by every form: trimmed text, safe links, sane dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

from wtforms.validators import ValidationError

from campaign.timeutil import today

NOTE_MAX = 2000
EARLIEST_DATE = date(2000, 1, 1)
MAX_RECORD_ID = 2**31 - 1  # the databases' integer primary keys


# Never kept in stored text: C0 controls but tab and newline (NUL breaks PostgreSQL, escape
# sequences a terminal reading a CSV), DEL and C1 controls, and the bidi embeddings, overrides
# and isolates that make "evil\u202etxt.exe" display as "evilexe.txt" (Trojan Source). The
# plain direction marks (U+200E, U+200F, U+061C) stay: right-to-left names need them.
UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def strip(value):
    """Trim surrounding white space and drop control characters people paste by accident.

    Carriage returns go too, so a note keeps one kind of line break whatever browser sent it.
    """
    if not isinstance(value, str):
        return value
    return UNSAFE_CHARACTERS.sub("", value).strip()


def strip_line(value):
    """Like strip, for one-line fields: inner runs of white space become one space."""
    value = strip(value)
    return " ".join(value.split()) if isinstance(value, str) else value


def record_id(text) -> int | None:
    """A record id typed in a form or URL: ASCII digits for 1 to MAX_RECORD_ID, else None.

    `str.isdigit()` is not enough: it accepts "²", which int() refuses, and "١", which int()
    reads as 1; and an id past the integer column overflows SQLite and PostgreSQL.
    """
    if not isinstance(text, str) or not (0 < len(text) <= 10) or not text.isascii():
        return None
    if not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_RECORD_ID else None


def page_number(text) -> int:
    """The page a query string asks for, or 1. A page past the last one shows an empty list,
    but one too large for the database's OFFSET would be a 500."""
    return record_id(text) or 1


class WebLink:
    """Only http and https links with a host: no javascript:, data: or mailto: in evidence."""

    def __init__(self, message: str = "Enter a web address starting with https:// or http://"):
        self.message = message

    def __call__(self, form, field) -> None:
        if not field.data:
            return
        try:
            parts = urlsplit(field.data)
            hostname = parts.hostname
        except ValueError as error:  # e.g. "http://[::1": an unclosed IPv6 bracket
            raise ValidationError(self.message) from error
        if parts.scheme.lower() not in ("http", "https") or not hostname:
            raise ValidationError(self.message)
        if any(ch.isspace() for ch in field.data):
            raise ValidationError("A web address cannot contain spaces.")


@dataclass(frozen=True)
class DateWindow:
    """Which dates a field accepts, relative to today: one rule for a form and an import."""

    past_days: int | None = None
    future_days: int | None = None
    not_before: date | None = EARLIEST_DATE

    def problem(self, value: date) -> str | None:
        """Why `value` is refused, in the words a form shows; None when it is accepted."""
        now = today()
        if self.not_before and value < self.not_before:
            return f"Enter a date after {self.not_before.year - 1}."
        if self.past_days is not None and value < now - timedelta(days=self.past_days):
            if self.past_days == 0:
                return "Enter today's date or a later one."
            return "This date is too far in the past."
        if self.future_days is not None and value > now + timedelta(days=self.future_days):
            if self.future_days <= 1:
                return "This date is in the future."
            years = round(self.future_days / 365)
            return f"Enter a date within the next {years} years."
        return None


class DateWithin:
    """A date inside a window relative to today; the message says the window in words."""

    def __init__(
        self,
        *,
        past_days: int | None = None,
        future_days: int | None = None,
        not_before: date | None = EARLIEST_DATE,
        window: DateWindow | None = None,
    ):
        self.window = window or DateWindow(past_days, future_days, not_before)

    def __call__(self, form, field) -> None:
        if field.data is None:
            return
        problem = self.window.problem(field.data)
        if problem:
            raise ValidationError(problem)
