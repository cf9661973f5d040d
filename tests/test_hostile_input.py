"""Hostile input at every form field and query parameter, found by crawling the app as each role.

Forms are discovered, not listed: the crawler opens every page of the access matrix as
anonymous, official A, an organizer and an admin, parses each <form> with html.parser, and
submits the classic payloads into one field at a time with the form's other fields left
valid. Query parameters come from GET forms and links on those pages, plus the few read only
from typed URLs (`next`, `ids`, `page`); path parameters get the same payloads. So a new
form or parameter is attacked without anyone adding it here.

For every response: never a 5xx; HTML never carries a payload unescaped, nor a `javascript:`
link; template syntax is never evaluated; a redirect never leaves the site; no CSV cell starts
like a formula. Afterwards every page is read back (stored payloads), and no text column of
any table holds a control character or a bidi override (the rule of validation.strip).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from campaign.extensions import db
from tests.test_access_matrix import ADMIN, ANON, LOGINS, MATRIX, ORG, A, build_world

PAYLOADS = {
    "script-tag": "<script>alert(1)</script>",
    "attribute-break": '"><img src=x onerror=alert(1)>',
    "single-quote-break": "'><svg onload=alert(1)>",
    "jinja-expression": "a{{7*7}}z",
    "jinja-statement": "a{% raw %}z{% endraw %}{% for x in () %}",
    "js-template": "a${7*7}z `a${7*7}z`",
    "sql-or": "' OR 1=1 --",
    "sql-drop": "1; DROP TABLE user",
    "nul-byte": "a\x00b",
    "rtl-override": "evil\u202etxt.exe",
    "control-chars": "a\x01\x07\x08\x1b[31m\x7f\x85\u2066b\u2069",
    "long-string": "x" * 20_000,
    "huge-number": "99999999999999999999",
    "negative-number": "-1",
    "unicode-digit": "²",
    "far-date": "99999-01-01",
    "protocol-relative": "//evil.example",
    "absolute-url": "https://evil.example/",
    "backslash-url": "/\\evil.example",
    "javascript-url": "javascript:alert(1)",
    "spreadsheet-formula": '=HYPERLINK("https://evil.example","x")',
    "spreadsheet-command": "@SUM(1+1)*cmd|' /C calc'!A0",
}
# Sent last into every field, so it is what each field keeps for the read-back afterwards.
STORED = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>'a{{7*7}}z=1+1"
MARKUP_PAYLOADS = [
    STORED,
    *(text for text in PAYLOADS.values() if any(ch in text for ch in "<>\"'")),
]
EVALUATED = "a49z"  # what the template payloads would print if anything evaluated them
# OWASP "CSV injection": a spreadsheet may run a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
RAW_BYTES = b"\xff\xfe\xc3(\xed\xa0\x80"  # not UTF-8: a lone continuation and a surrogate

# Values that make a form otherwise valid where the page leaves a field empty.
VALID = {
    "name": "Hostile Tester",
    "office_title": "Mayor",
    "password": "correct horse battery",
    "confirm": "correct horse battery",
    "summary": "A policy summary.",
    "body": "A message to the campaign.",
    "note": "Called back.",
    "phone": "+1 555 0100",
    "occurred_on": "{today}",
    "contacted_on": "{today}",
    "jurisdiction_key": "{signup_key}",
}
# Read from typed URLs rather than from any form or link on a page.
URL_ONLY_PARAMETERS = ("next", "ids", "page", "per_page")
# Official A first, for the forms on A's own records; anonymous last, because A's password
# reset link (a page anonymous visitors crawl) changes A's password.
CRAWL_ROLES = (A, ADMIN, ORG, ANON)
# Read everything back afterwards as roles the attacks cannot lock out (an admin attacking the
# accounts page may deactivate official A).
RECHECK_ROLES = (ADMIN, ORG, ANON)


@dataclass
class Form:
    page: str
    method: str
    action: str
    fields: dict[str, list[str]] = field(default_factory=dict)  # name: [type, default]
    options: dict[str, list[str]] = field(default_factory=dict)  # values a choice offers

    @property
    def shape(self) -> tuple:
        """Forms repeated per record (a row per user, a field per policy) are attacked once."""
        return (
            self.method,
            re.sub(r"\d+", "N", urlsplit(self.action).path),
            tuple(sorted({_shape(name) for name in self.fields})),
        )


def _shape(name: str) -> str:
    return re.sub(r"\d+", "N", name)


class PageParser(HTMLParser):
    """The forms, links and URL-bearing attributes of one HTML page."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self.urls: list[str] = []  # every href, src, action and formaction on the page
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        for name in ("href", "src", "action", "formaction"):
            if name in attributes:
                self.urls.append(attributes[name])
        if tag == "a" and attributes.get("href"):
            self.links.append(urljoin(self.page, attributes["href"]))
        if tag == "form":
            method = (attributes.get("method") or "get").upper()
            action = urljoin(self.page, attributes.get("action") or self.page)
            self._form = Form(self.page, method, action)
            self.forms.append(self._form)
            return
        if tag == "option" and self._select and self._form is not None:
            value = attributes.get("value", "")
            self._form.options.setdefault(self._select, []).append(value)
            if "selected" in attributes:
                self._form.fields[self._select][1] = value
            return
        form, name = self._form, attributes.get("name")
        if form is None or not name or "disabled" in attributes:
            return
        if tag == "input":
            kind = (attributes.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            value = attributes.get("value", "y" if kind == "checkbox" else "")
            entry = form.fields.setdefault(name, [kind, ""])
            if kind in ("checkbox", "radio"):
                form.options.setdefault(name, []).append(value)
                if "checked" in attributes:
                    entry[1] = value
            else:
                entry[1] = value
        elif tag == "textarea":
            form.fields[name] = ["textarea", ""]
            self._textarea = name
        elif tag == "select":
            form.fields[name] = ["select", ""]
            self._select = name

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea][1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def parse(page: str, html: str) -> PageParser:
    parser = PageParser(page)
    parser.feed(html)
    parser.close()
    return parser


def valid_data(form: Form, world: dict) -> list[tuple[str, str]]:
    """The form as a person would send it: defaults kept, empty required fields filled in.

    Of checkboxes repeated per record (commit_1, commit_2...) only the first is ticked.
    """
    data: list[tuple[str, str]] = []
    seen_shapes: set[str] = set()
    for name, (kind, value) in form.fields.items():
        options = [o for o in form.options.get(name, []) if o]
        first_of_shape = _shape(name) not in seen_shapes
        seen_shapes.add(_shape(name))
        if kind == "checkbox":
            if value or (first_of_shape and options):
                data.append((name, value or options[0]))
            continue
        if not value and kind in ("radio", "select") and options:
            value = options[0]
        if not value and name in VALID:
            value = VALID[name].format(**world)
        data.append((name, value))
    return data


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)

    def check(self, response, what: str, payload: str | None = None) -> None:
        """One response: no 5xx, no off-site redirect, and in HTML no unescaped payload (any
        payload when none is given: text stored earlier), no evaluated template, no
        javascript: link; in CSV no cell a spreadsheet would run as a formula."""
        body = response.get_data(as_text=True)  # also ends a streamed download
        if response.status_code >= 500:
            self.problems.append(f"{what}: {response.status_code}")
            return
        location = response.headers.get("Location")
        if location is not None and not _is_local(location):
            self.problems.append(f"{what}: redirects off-site to {location!r}")
        if response.mimetype == "text/csv":
            for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))):
                for cell in row:
                    if cell.startswith(FORMULA_PREFIXES) and not _is_number(cell):
                        self.problems.append(f"{what}: CSV cell {cell[:40]!r} is a formula")
            return
        if response.mimetype != "text/html":
            return
        if EVALUATED in body:
            self.problems.append(f"{what}: a template expression was evaluated")
        payloads = [payload] if payload else MARKUP_PAYLOADS
        for text in payloads:
            if text and any(ch in text for ch in "<>\"'") and text in body:
                self.problems.append(f"{what}: {text[:30]!r} shown unescaped")
        for url in parse("/", body).urls:
            scheme = re.sub(r"[\x00-\x20]", "", url).lower().partition(":")[0]
            if scheme in ("javascript", "data", "vbscript") and ":" in url:
                self.problems.append(f"{what}: page links to {url[:60]!r}")

    def assert_none(self) -> None:
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(
            self.problems[:40]
        )


def _is_number(cell: str) -> bool:
    """Real numbers such as a longitude (-93.09) are written as numbers, by design."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _is_local(location: str) -> bool:
    parts = urlsplit(location)
    if parts.scheme or parts.netloc:
        return parts.netloc == "localhost"
    return location.startswith("/") and not location.startswith(("//", "/\\"))


@pytest.fixture
def world(make, catalog):
    return build_world(make, catalog)


PASSWORD = "correct horse battery"


def _client(app, role: str):
    """A signed-in client; an anonymous one keeps no cookies, so a sign-up never signs it in."""
    if role == ANON:
        return app.test_client(use_cookies=False)
    client = app.test_client()
    response = client.post("/login", data={"email": LOGINS[role], "password": PASSWORD})
    assert response.status_code == 302, f"cannot sign in as {role}"
    return client


@dataclass
class Site:
    """What the crawl found, each form and page assigned to the first role that reaches it."""

    forms: list[tuple[str, Form]] = field(default_factory=list)
    pages: list[tuple[str, str]] = field(default_factory=list)
    parameters: set[str] = field(default_factory=lambda: set(URL_ONLY_PARAMETERS))


def crawl(app, world: dict) -> Site:
    """Open every GET page of the access matrix as each role and collect forms and parameters.

    Roles go in CRAWL_ROLES order; a form or page another role already found is not repeated.
    """
    site = Site()
    form_shapes: set[tuple] = set()
    seen_pages: set[str] = set()
    for role in CRAWL_ROLES:
        client = _client(app, role)
        for (_endpoint, method), route in MATRIX.items():
            if method != "GET" or route.expect[role] != 200:
                continue
            page = route.path.format(**world)
            response = client.get(page)
            assert response.status_code == 200, f"{role} {page}"
            html = response.get_data(as_text=True)  # also ends a streamed download
            if urlsplit(page).path not in seen_pages:
                seen_pages.add(urlsplit(page).path)
                site.pages.append((role, urlsplit(page).path))
            if response.mimetype != "text/html":
                continue
            parsed = parse(page, html)
            for form in parsed.forms:
                if form.method == "GET":
                    site.parameters.update(form.fields)
                elif form.fields and form.shape not in form_shapes:
                    form_shapes.add(form.shape)
                    site.forms.append((role, form))
            for link in parsed.links:
                site.parameters.update(name for name, _value in parse_qsl(urlsplit(link).query))
    return site


@pytest.fixture
def site(app, world) -> Site:
    return crawl(app, world)


def _fresh_form(client, form: Form) -> Form | None:
    """The same form re-read from its page after a save changed what it shows."""
    response = client.get(form.page)
    if response.status_code != 200:
        return None
    for candidate in parse(form.page, response.get_data(as_text=True)).forms:
        if candidate.shape == form.shape:
            return candidate
    return None


def attack_form(client, role: str, original: Form, world: dict, found: Findings) -> int:
    """Each payload into each field of the form, the others valid; returns requests sent."""
    sent = 0
    form = original
    for shape in dict.fromkeys(_shape(name) for name in original.fields):
        for payload_name, payload in [*PAYLOADS.items(), ("raw-bytes", None), ("stored", STORED)]:
            target = next((n for n in form.fields if _shape(n) == shape), None)
            if target is None:  # e.g. every policy is committed to by now
                break
            data = [(n, v) for n, v in valid_data(form, world) if n != target]
            what = f"{role} {form.method} {target}={payload_name} {form.action}"
            if payload is None:
                body = urlencode(data).encode() + b"&" + target.encode() + b"=" + RAW_BYTES
                response = client.open(
                    form.action,
                    method=form.method,
                    data=body,
                    content_type="application/x-www-form-urlencoded",
                )
            else:
                response = client.open(
                    form.action, method=form.method, data=MultiDict([*data, (target, payload)])
                )
            sent += 1
            found.check(response, what, payload)
            if 300 <= response.status_code < 400:  # saved: re-read defaults such as version
                form = _fresh_form(client, original) or form
    return sent


FORBIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def stored_control_characters() -> list[str]:
    """Text in any column that holds a control character or a bidi override."""
    found = []

    def scan(where: str, value) -> None:
        if isinstance(value, str) and FORBIDDEN.search(value):
            found.append(f"{where}: {value[:80]!r}")
        elif isinstance(value, dict):
            for key, item in value.items():
                scan(where, key)
                scan(where, item)
        elif isinstance(value, list | tuple):
            for item in value:
                scan(where, item)

    db.session.expire_all()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)).mappings():
            for column, value in row.items():
                scan(f"{table.name}.{column}", value)
    return found


def test_every_form_field_withstands_hostile_input(app, site, world):
    found = Findings()
    sent = 0
    for role in CRAWL_ROLES:
        client = _client(app, role)
        for _role, form in (item for item in site.forms if item[0] == role):
            sent += attack_form(client, role, form, world, found)
    # What was saved shows up later, on other people's pages and in exports.
    for role in RECHECK_ROLES:
        client = _client(app, role)
        for (_endpoint, method), route in MATRIX.items():
            if method == "GET" and route.expect[role] == 200:
                page = route.path.format(**world)
                found.check(client.get(page), f"{role} GET {page} after the attacks")
    found.assert_none()
    stored = stored_control_characters()
    assert not stored, "stored control characters:\n" + "\n".join(stored[:30])
    assert sent > 500


def test_every_query_parameter_withstands_hostile_input(app, site):
    found = Findings()
    parameters = sorted(site.parameters)
    # WSGI carries a query's raw bytes as a latin-1 string.
    raw = "&".join(f"{name}={RAW_BYTES.decode('latin-1')}" for name in parameters)
    for role in CRAWL_ROLES:
        client = _client(app, role)
        for path in (path for page_role, path in site.pages if page_role == role):
            for payload_name, payload in PAYLOADS.items():
                response = client.get(path, query_string=dict.fromkeys(parameters, payload))
                found.check(response, f"{role} GET ?*={payload_name} {path}", payload)
            found.check(client.get(path, query_string=raw), f"{role} GET ?*=raw-bytes {path}")
    found.assert_none()
    assert not stored_control_characters()


def test_every_path_parameter_withstands_hostile_input(app, site):
    """Slugs, keys, tokens and record ids in the path, as the role that reaches most routes."""
    found = Findings()
    client = _client(app, ADMIN)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.arguments:
            continue
        for payload_name, payload in PAYLOADS.items():
            path = rule.rule
            for argument in rule.arguments:
                path = re.sub(rf"<[^>]*\b{argument}>", quote(payload, safe=""), path)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                response = client.open(path, method=method)
                found.check(response, f"{method} <*>={payload_name} {path[:80]}", payload)
    found.assert_none()


@pytest.mark.parametrize(
    "target",
    [
        PAYLOADS["protocol-relative"],
        PAYLOADS["absolute-url"],
        PAYLOADS["backslash-url"],
        PAYLOADS["javascript-url"],
        "/\t/evil.example",
        "https:evil.example",
        "%2F%2Fevil.example",
    ],
)
def test_a_signed_in_visitor_sent_to_sign_in_is_never_sent_off_site(app, world, target):
    client = _client(app, A)
    found = Findings()
    found.check(client.get("/login", query_string={"next": target}), f"GET /login?next={target}")
    found.assert_none()
    assert client.get("/login", query_string={"next": target}).headers["Location"].startswith("/")


# Forms every crawl must find (by a part of their action), whichever role found them first.
EXPECTED_FORMS = (
    "/signup",
    "/login",
    "/password/forgot",
    "/password/reset/",
    "/account",
    "/commitments/new",
    "/progress",
    "/visibility",
    "/help/commitments/",
    "/help/",
    "/staff/assign",
    "/staff/commitments/",
    "/contact",
    "/edit",
    "/admin/users/",
)


def test_the_crawler_finds_the_forms_and_parameters_people_use(site):
    """Guards the tests above against passing because they found nothing to attack."""
    actions = [urlsplit(form.action).path for _role, form in site.forms]
    for expected in EXPECTED_FORMS:
        assert any(expected in action for action in actions), (expected, actions)
    assert {"policy", "state", "stage", "q", "owner", "action", "sort"} <= site.parameters
    assert len(site.pages) == len({path for _role, path in site.pages}) > 30


def test_the_form_parser_reads_defaults_choices_and_disabled_fields():
    html = """
    <form method="post" action="/x">
      <input type="hidden" name="version" value="3">
      <input name="name" value="Ana &amp; Bo">
      <input type="checkbox" name="keep" value="y" checked>
      <input type="checkbox" name="commit_1" value="y"><input type="checkbox" name="commit_2">
      <input type="radio" name="kind" value="call"><input type="radio" name="kind" value="email">
      <select name="stage"><option value="">Choose</option><option value="passed">P</option>
      </select>
      <select name="role" disabled><option value="admin" selected>Admin</option></select>
      <textarea name="note">Hello</textarea>
      <button type="submit" name="go">Go</button>
    </form>"""
    (form,) = parse("/page", html).forms
    assert form.method == "POST" and form.action == "/x"
    assert valid_data(form, {}) == [
        ("version", "3"),
        ("name", "Ana & Bo"),
        ("keep", "y"),
        ("commit_1", "y"),
        ("kind", "call"),
        ("stage", "passed"),
        ("note", "Hello"),
    ]
    assert form.shape == (
        "POST",
        "/x",
        ("commit_N", "keep", "kind", "name", "note", "stage", "version"),
    )


UNSAFE_TEXT = "Ana\u202eBo\x00\x07\x1b\x7f\x85\u2067"


def test_names_notes_and_messages_are_saved_without_control_or_bidi_characters(app, world):
    """validation.strip's rule: such characters are dropped, the rest of the text is kept."""
    from campaign.accounts.models import User
    from campaign.commitments.models import TimelineEntry
    from campaign.help.models import HelpMessage

    client = _client(app, A)
    saved = client.post(
        "/account", data={"name": f"  {UNSAFE_TEXT}  ", "office_title": "Mayor\u202e"}
    )
    assert saved.status_code == 302
    assert (
        client.post(
            f"/commitments/{world['commitment']}/progress",
            data={
                "stage": "passed",
                "occurred_on": world["today"],
                "note": f"Line\r\n{UNSAFE_TEXT}",
            },
        ).status_code
        == 302
    )
    assert (
        client.post(
            f"/help/{world['help_request']}", data={"body": f"\u202d{UNSAFE_TEXT}\tend"}
        ).status_code
        == 302
    )

    user = db.session.get(User, world["official"])
    assert (user.name, user.office_title) == ("AnaBo", "Mayor")
    latest = db.session.scalars(select(TimelineEntry).order_by(TimelineEntry.id.desc())).first()
    assert (latest.commitment_id, latest.note) == (world["commitment"], "Line\nAnaBo")
    last = db.session.scalars(select(HelpMessage).order_by(HelpMessage.id.desc())).first()
    assert last.body == "AnaBo\tend"
    assert not stored_control_characters()
