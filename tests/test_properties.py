"""Property-based tests (hypothesis) of the rules every request leans on.

Shared filters and validators (validation.py), name matching (places/matching.py), stage rules
(commitments/stages.py), formula-safe CSV (exports.py) and the form classes, each against
generated input rather than a handful of examples. Settings are fixed for CI: derandomized
(the same examples on every run), no example database on disk, no deadline.
"""

from __future__ import annotations

import csv
import importlib
import io
import itertools
import pkgutil
import unicodedata
from datetime import date, timedelta

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms.validators import ValidationError

import campaign
from campaign.commitments.stages import Stage, StageTransitionError, check_transition
from campaign.commitments.stages import next_stages as allowed_next
from campaign.places.matching import STATES, normalize_name, parse_state, split_state
from campaign.validation import (
    EARLIEST_DATE,
    MAX_RECORD_ID,
    DateWithin,
    WebLink,
    record_id,
    strip,
    strip_line,
)
from campaign.web.exports import csv_response, neutralize_cell

PURE = settings(max_examples=200, deadline=None, derandomize=True, database=None)
# Form tests run in the app (session fixture) plus the suite's per-test database fixture; no
# example writes anything, so sharing that fixture across examples is safe.
WITH_APP = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The oracles, written independently of the code under test.
# OWASP "CSV injection": spreadsheets may run a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe(ch: str) -> bool:
    """Never kept in stored text: control characters but tab and newline, and bidi controls."""
    return (unicodedata.category(ch) == "Cc" and ch not in "\t\n") or ch in BIDI_CONTROLS


def without_unsafe(text: str) -> str:
    return "".join(ch for ch in text if not unsafe(ch))


# Text people might paste: any Unicode, with the troublemakers made likely.
TRICKY = st.sampled_from(
    ["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u202e", "\u2066", "\u200f", " ", "\u00a0"]
)
TEXT = st.lists(st.one_of(TRICKY, st.text(max_size=6)), max_size=12).map("".join)


# validation.py: strip, strip_line, record_id, WebLink, DateWithin


@PURE
@given(TEXT)
def test_strip_leaves_no_unsafe_character_nor_surrounding_space_and_is_idempotent(text):
    cleaned = strip(text)
    assert not any(unsafe(ch) for ch in cleaned)
    assert cleaned == cleaned.strip()
    assert strip(cleaned) == cleaned
    # Nothing else is touched: the result is the input without unsafe characters, trimmed.
    assert cleaned == without_unsafe(text).strip()


@PURE
@given(TEXT)
def test_strip_line_is_one_line_with_single_spaces(text):
    line = strip_line(text)
    assert not any(unsafe(ch) for ch in line)
    assert line.split() == strip(text).split()
    assert line == " ".join(line.split())
    assert strip_line(line) == line


@PURE
@given(st.integers(min_value=1, max_value=MAX_RECORD_ID))
def test_every_id_in_the_integer_column_reads_back(number):
    assert record_id(str(number)) == number


@PURE
@given(st.one_of(TEXT, st.integers().map(str)))
def test_record_id_never_raises_and_stays_in_the_column(text):
    value = record_id(text)
    assert value is None or (1 <= value <= MAX_RECORD_ID and str(value) == text.lstrip("0"))


class _Field:
    def __init__(self, data):
        self.data = data


def _web_link_accepts(url: str) -> bool:
    try:
        WebLink()(None, _Field(url))
    except ValidationError:
        return False
    return True


@PURE
@given(
    st.one_of(
        TEXT,
        st.builds(
            "{}://{}{}".format,
            st.sampled_from(["http", "https", "HTTPS", "javascript", "data", "ftp", ""]),
            TEXT,
            TEXT,
        ),
    )
)
def test_web_link_only_ever_accepts_http_and_https_with_a_host(url):
    from urllib.parse import urlsplit

    if _web_link_accepts(url) and url:
        parts = urlsplit(url)
        assert parts.scheme.lower() in ("http", "https")
        assert parts.hostname
        assert not any(ch.isspace() for ch in url)


@PURE
@given(
    st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
    st.one_of(st.none(), st.integers(0, 4000)),
    st.one_of(st.none(), st.integers(0, 4000)),
)
def test_date_within_accepts_exactly_the_window(value, past_days, future_days):
    from campaign.timeutil import today

    now = today()
    inside = value >= EARLIEST_DATE
    if past_days is not None:
        inside = inside and value >= now - timedelta(days=past_days)
    if future_days is not None:
        inside = inside and value <= now + timedelta(days=future_days)
    try:
        DateWithin(past_days=past_days, future_days=future_days)(None, _Field(value))
    except ValidationError as error:
        assert not inside, error
        assert str(error)  # a message a person can read
    else:
        assert inside


# places/matching.py: normalize_name, parse_state, split_state

LATIN = "abcdefghijklmnopqrstuvwxyzáàâäãåçéèêëíìîïñóòôöõúùûüýÿ"
WORD = st.text(st.sampled_from(LATIN + LATIN.upper() + "0123456789"), min_size=1, max_size=8)
PUNCTUATION = st.sampled_from([".", ",", ";", ":", "!", "?", "(", ")", '"', "-", "/", "&", "#"])


@PURE
@given(TEXT)
def test_normalize_name_never_raises_and_gives_plain_lowercase_words(text):
    name = normalize_name(text)
    assert name == " ".join(name.split())
    assert all(ch in "abcdefghijklmnopqrstuvwxyz0123456789 " for ch in name)
    assert normalize_name(name) == name  # idempotent


@PURE
@given(st.lists(WORD, min_size=1, max_size=5))
def test_normalize_name_ignores_case(words):
    text = " ".join(words)
    assert normalize_name(text.upper()) == normalize_name(text.lower()) == normalize_name(text)


@PURE
@given(st.lists(WORD, min_size=1, max_size=5))
def test_normalize_name_ignores_accents(words):
    text = " ".join(words)
    bare = "".join(
        ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
    )
    assert normalize_name(text) == normalize_name(bare)


@PURE
@given(st.lists(st.tuples(WORD, PUNCTUATION, PUNCTUATION), min_size=1, max_size=5))
def test_normalize_name_ignores_punctuation_around_words(parts):
    plain = " ".join(word for word, _before, _after in parts)
    punctuated = " ".join(f"{before}{word}{after}" for word, before, after in parts)
    assert normalize_name(punctuated) == normalize_name(plain)
    apostrophe = "’".join(word for word, _b, _a in parts)  # apostrophes join: Prince George's
    assert normalize_name(apostrophe) == normalize_name("".join(w for w, _b, _a in parts))


def _any_case(draw, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(ch.upper() if flip else ch.lower() for ch, flip in zip(text, flips, strict=True))


@st.composite
def state_written_somehow(draw) -> tuple[str, str]:
    code, name = draw(st.sampled_from(sorted(STATES.items())))
    written = draw(st.sampled_from([code, name]))
    spaced = draw(st.sampled_from([written, f"  {written} ", written.replace(" ", "  ")]))
    return code, _any_case(draw, spaced)


@PURE
@given(state_written_somehow())
def test_every_state_code_and_name_parses_in_any_case(state):
    code, written = state
    assert parse_state(written) == code


def test_every_state_code_and_name_parses_in_the_usual_cases():
    for code, name in STATES.items():
        for written in (code, code.lower(), name, name.upper(), name.lower()):
            assert parse_state(written) == code, written


# Place-name words that are no state, no state's word and no two-letter code.
NAME_WORDS = ["Oak", "Maple", "Lake", "Hill", "Paul", "Saint", "Springs", "Falls", "Bay", "Ridge"]
PLACE = st.lists(st.sampled_from(NAME_WORDS), min_size=1, max_size=3).map(" ".join)


@PURE
@given(PLACE, state_written_somehow())
def test_a_place_and_its_state_split_apart_after_a_comma(place, state):
    code, written = state
    assert split_state(f"{place}, {written}") == (place, code)


@PURE
@given(PLACE, st.sampled_from(sorted(STATES.items())))
def test_a_place_followed_by_a_state_name_or_capital_code_splits_apart(place, state):
    code, name = state
    assert split_state(f"{place} {name}") == (place, code)
    assert split_state(f"{place} {name.upper()}") == (place, code)
    assert split_state(f"{place} {code}") == (place, code)


@PURE
@given(PLACE, st.sampled_from(sorted(STATES)))
def test_a_lower_case_two_letter_word_is_not_taken_for_a_state(place, code):
    assert split_state(f"{place} {code.lower()}") == (f"{place} {code.lower()}", None)


@PURE
@given(TEXT)
def test_state_parsing_never_raises_on_arbitrary_text(text):
    assert parse_state(text) in (None, *STATES)
    name, code = split_state(text)
    assert isinstance(name, str) and code in (None, *STATES)


# commitments/stages.py


@st.composite
def commitment_history(draw) -> list[tuple[Stage, Stage]]:
    """(stage, furthest) along a random walk of allowed moves from a fresh pledge."""
    current = furthest = Stage.PLEDGED
    history = [(current, furthest)]
    for _ in range(draw(st.integers(0, 12))):
        target = draw(st.sampled_from(allowed_next(current, furthest)))
        if target.rank > furthest.rank:
            furthest = target
        current = target
        history.append((current, furthest))
    return history


@PURE
@given(commitment_history())
def test_stage_walks_only_go_forward_on_the_main_line(history):
    for (before, _), (after, _) in itertools.pairwise(history):
        if before.on_main_line and after.on_main_line:
            assert after.rank > before.rank or (before, after) == (Stage.WITHDRAWN, Stage.PLEDGED)
        if before == Stage.WITHDRAWN:
            assert after == Stage.PLEDGED  # renewed as a fresh pledge


@PURE
@given(commitment_history())
def test_every_reachable_stage_has_a_way_on_and_can_be_withdrawn(history):
    current, furthest = history[-1]
    moves = allowed_next(current, furthest)
    assert moves and len(moves) == len(set(moves))
    assert current not in moves
    if current == Stage.WITHDRAWN:
        assert moves == [Stage.PLEDGED]
    else:
        assert Stage.WITHDRAWN in moves
    if current == Stage.IMPLEMENTED:
        assert moves == [Stage.WITHDRAWN]
    if current == Stage.STALLED:  # resumes where it stopped, or further, never at pledged
        resumed = [s for s in moves if s.on_main_line]
        assert resumed and all(s.rank >= max(furthest.rank, 1) for s in resumed)


S = Stage


@pytest.mark.parametrize(
    ("current", "furthest", "target", "allowed"),
    [
        (S.PLEDGED, S.PLEDGED, S.PASSED, True),  # reported late: skipping ahead is fine
        (S.INTRODUCED, S.INTRODUCED, S.PLEDGED, False),  # a timeline never runs backwards
        (S.PASSED, S.PASSED, S.INTRODUCED, False),
        (S.PASSED, S.PASSED, S.STALLED, True),
        (S.STALLED, S.PASSED, S.INTRODUCED, False),  # resumes where it stopped, not before
        (S.STALLED, S.PASSED, S.PASSED, True),
        (S.STALLED, S.PLEDGED, S.PLEDGED, False),  # ...and a stall is past the pledge
        (S.STALLED, S.PLEDGED, S.INTRODUCED, True),
        (S.IMPLEMENTED, S.IMPLEMENTED, S.STALLED, False),  # in force: only withdrawn is left
        (S.IMPLEMENTED, S.IMPLEMENTED, S.WITHDRAWN, True),
        (S.WITHDRAWN, S.PASSED, S.PASSED, False),  # renewed only as a fresh pledge
        (S.WITHDRAWN, S.PASSED, S.PLEDGED, True),
    ],
)
def test_the_stage_rules_as_the_officials_guide_states_them(current, furthest, target, allowed):
    """The rules of stages.py's docstring, case by case, written out rather than derived."""
    if allowed:
        check_transition(current, furthest, target)
    else:
        with pytest.raises(StageTransitionError, match=f"that is {current.value} can move to"):
            check_transition(current, furthest, target)


# exports.py: formula-safe CSV

CELL = st.one_of(
    TEXT,
    st.builds(str.__add__, st.sampled_from(["=", "+", "-", "@", "\t", "\r"]), TEXT),
)


@PURE
@given(CELL)
def test_a_text_cell_never_starts_like_a_formula_and_otherwise_stays_as_typed(text):
    cell = neutralize_cell(text)
    assert not cell.startswith(FORMULA_PREFIXES)
    assert cell == ("'" + text if text.startswith(FORMULA_PREFIXES) else text)


@PURE
@given(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False)))
def test_real_numbers_are_exported_as_numbers(number):
    assert neutralize_cell(number) == number


@PURE
@given(st.lists(st.lists(CELL, min_size=1, max_size=4), max_size=5))
def test_csv_export_reads_back_cell_for_cell_with_formulas_defused(rows):
    body = csv_response("x.csv", ["a", "b", "c", "d"], rows).get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    read = list(csv.reader(io.StringIO(body[1:], newline="")))
    defused = [["'" + c if c.startswith(FORMULA_PREFIXES) else c for c in row] for row in rows]
    assert read[1:] == defused
    assert not any(cell.startswith(FORMULA_PREFIXES) for row in read for cell in row)


# The form classes: arbitrary text validates or gives errors, never an exception.


def _forms(catalog):
    from campaign.accounts.confirmation_views import ResendForm
    from campaign.accounts.forms import ChangePasswordForm, LoginForm, ProfileForm, SignupForm
    from campaign.accounts.reset_forms import ForgotPasswordForm, ResetPasswordForm
    from campaign.accounts.second_factor_forms import CodeForm, EnrolForm
    from campaign.catalog.forms import PolicyForm
    from campaign.commitments.filters import FilterForm
    from campaign.directory.forms import PhoneEntryForm
    from campaign.followup.forms import AssignForm, ContactForm, RejectOfficialForm
    from campaign.help.forms import AskForm, ReplyForm
    from campaign.imports.forms import (
        AcceptForm,
        DismissForm,
        MailboxUploadForm,
        SpreadsheetUploadForm,
        mapping_form,
    )
    from campaign.layers.forms import LayerUploadForm
    from campaign.officials.forms import ProgressForm, VisibilityForm, commit_form_class
    from campaign.web.forms import ActionForm

    def progress(formdata):
        form = ProgressForm(formdata)
        form.set_stage_choices(allowed_next(Stage.INTRODUCED, Stage.INTRODUCED))
        return form

    def accept(formdata):
        form = AcceptForm(formdata)
        form.policies.choices = [(str(p.id), p.short_title) for p in catalog]
        return form

    def layer_upload(formdata):
        form = LayerUploadForm(formdata)
        form.policy.choices = [("", "Choose the policy")] + [
            (p.slug, p.short_title) for p in catalog
        ]
        return form

    def phone(formdata):
        form = PhoneEntryForm(formdata)
        form.set_policy_choices(catalog)
        return form

    def mapping(formdata):
        form = mapping_form(["Name", "Email", "City"], {"email": "Email"})
        form.process(formdata)
        return form

    return {
        "signup": SignupForm,
        "login": LoginForm,
        "profile": ProfileForm,
        "forgot": ForgotPasswordForm,
        "reset": ResetPasswordForm,
        "policy": PolicyForm,
        "commit": commit_form_class(catalog[:2]),
        "progress": progress,
        "visibility": VisibilityForm,
        "contact": ContactForm,
        "assign": AssignForm,
        "phone": phone,
        "resend_confirmation": ResendForm,
        "reject_official": RejectOfficialForm,
        "second_factor_code": CodeForm,
        "second_factor_enrol": EnrolForm,
        "layer_upload": layer_upload,
        "ask": AskForm,
        "reply": ReplyForm,
        "filter": FilterForm,
        "action": ActionForm,
        "change_password": ChangePasswordForm,
        "accept": accept,
        "dismiss": DismissForm,
        "spreadsheet_upload": SpreadsheetUploadForm,
        "mailbox_upload": MailboxUploadForm,
        "mapping": mapping,
    }


def _field_names(form) -> list[str]:
    names = []
    for field in form:
        if field.type == "FieldList":
            names += [f"{field.name}-0-label", f"{field.name}-0-url"]
        elif field.type != "CSRFTokenField":
            names.append(field.name)
    return names


FORM_NAMES = [
    "signup",
    "login",
    "profile",
    "forgot",
    "reset",
    "policy",
    "commit",
    "progress",
    "visibility",
    "contact",
    "assign",
    "phone",
    "resend_confirmation",
    "reject_official",
    "second_factor_code",
    "second_factor_enrol",
    "layer_upload",
    "ask",
    "reply",
    "filter",
    "action",
    "change_password",
    "accept",
    "dismiss",
    "spreadsheet_upload",
    "mailbox_upload",
    "mapping",
]


# Arbitrary text, or a value some field accepts, so valid forms are checked too.
FIELD_VALUE = st.one_of(
    TEXT,
    st.sampled_from(
        [
            "",
            "y",
            "Ana Bo",
            "ana@example.org",
            "correct horse battery",
            "2026-01-01",
            (date.today() - timedelta(days=1)).isoformat(),
            "https://example.org/vote",
            "public",
            "call",
            "passed",
            "other",
            "MN",
            "school_district",
        ]
    ),
    st.builds(str.__add__, st.sampled_from(["Ana ", "Note "]), TEXT),
)


@pytest.mark.parametrize("name", FORM_NAMES)
def test_every_form_class_reads_arbitrary_text_without_raising(app, catalog, name):
    make_form = _forms(catalog)[name]

    @WITH_APP
    @given(st.data())
    def check(data):
        with app.test_request_context(method="POST"):
            names = _field_names(make_form(MultiDict()))
            values = data.draw(st.lists(FIELD_VALUE, min_size=len(names), max_size=len(names)))
            form = make_form(MultiDict(zip(names, values, strict=True)))
            valid = form.validate()
            assert isinstance(valid, bool)
            if not valid:
                assert form.errors
            for field in form:
                text = field.type in ("StringField", "TextAreaField", "EmailField", "URLField")
                if text and isinstance(field.data, str) and field.filters:
                    assert not any(unsafe(ch) for ch in field.data), field.name

    check()


def test_every_form_class_of_the_app_is_in_that_list(app, catalog):
    """A new form class fails here until it is added to _forms()."""
    classes = set()
    for module_info in pkgutil.walk_packages(campaign.__path__, "campaign."):
        module = importlib.import_module(module_info.name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, FlaskForm)
                and value.__module__ == module.__name__
            ):
                classes.add(value.__name__)
    assert set(FORM_NAMES) == set(_forms(catalog))
    with app.test_request_context(method="POST"):
        built = {type(factory(MultiDict())).__name__ for factory in _forms(catalog).values()}
    covered = built | {"ResourceForm"}  # the rows of PolicyForm's link list
    assert classes <= covered, f"add to _forms() in tests/test_properties.py: {classes - covered}"
