"""The shared field filters: what text is kept, and what never reaches the database."""

import pytest

from campaign.validation import MAX_RECORD_ID, page_number, record_id, strip, strip_line


@pytest.mark.parametrize(
    ("character", "why"),
    [
        ("\x00", "NUL: PostgreSQL refuses it in text"),
        ("\x07", "bell"),
        ("\x1b", "escape: starts terminal sequences"),
        ("\r", "carriage return: notes keep one kind of line break"),
        ("\x7f", "delete"),
        ("\x85", "next line (C1 control)"),
        ("\x9b", "control sequence introducer (C1)"),
        ("\u202a", "left-to-right embedding"),
        ("\u202b", "right-to-left embedding"),
        ("\u202c", "pop directional formatting"),
        ("\u202d", "left-to-right override"),
        ("\u202e", "right-to-left override"),
        ("\u2066", "left-to-right isolate"),
        ("\u2067", "right-to-left isolate"),
        ("\u2068", "first strong isolate"),
        ("\u2069", "pop directional isolate"),
    ],
)
def test_control_and_bidi_override_characters_are_dropped(character, why):
    assert strip(f"invoice{character}fdp.exe") == "invoicefdp.exe", why
    assert strip_line(f"Ana{character} Bo") == "Ana Bo", why


@pytest.mark.parametrize(
    "text",
    [
        "שלום\u200f עולם",  # right-to-left mark: needed by right-to-left names
        "گل\u200cها",  # zero-width non-joiner: part of Persian spelling
        "Doña Ana · Saint-Paul’s “best”",
        "👩🏽\u200d⚕️",  # zero-width joiner inside an emoji
    ],
)
def test_ordinary_text_in_any_script_is_kept(text):
    assert strip(text) == text
    assert strip_line(text) == text


def test_notes_keep_their_lines_and_tabs_and_one_line_fields_do_not():
    assert strip("  first\r\n\tsecond\n") == "first\n\tsecond"
    assert strip_line("  first\r\n\tsecond\n") == "first second"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("0042", 42),
        (str(MAX_RECORD_ID), MAX_RECORD_ID),
        (str(MAX_RECORD_ID + 1), None),
        ("99999999999999999999", None),
        ("9" * 5000, None),  # int() refuses more than 4,300 digits
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1.0", None),
        ("²", None),  # isdigit() says yes, int() says no
        ("١", None),  # Arabic-Indic one: int() would read it as 1
        ("", None),
        (None, None),
    ],
)
def test_record_ids_are_plain_ascii_digits_within_the_integer_column(text, expected):
    assert record_id(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"), [("3", 3), (None, 1), ("", 1), ("0", 1), ("-2", 1), ("9" * 30, 1)]
)
def test_page_numbers_fall_back_to_the_first_page(text, expected):
    assert page_number(text) == expected
