"""Fixtures: one schema per session (built by the real migrations), emptied after each test.

The suite runs on SQLite by default; `TEST_DATABASE_URL=postgresql://...` runs the same tests
on PostgreSQL. When that server is unreachable the run stops with a clear message in CI and
skips loudly elsewhere.
"""

from __future__ import annotations

import html as html_module
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import OperationalError

from campaign import create_app
from campaign.config import database_url
from campaign.extensions import db
from campaign.figures import cache
from tests.factories import Factories
from tests.mailbox import SMTPServer

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _test_database_url(tmp_path_factory) -> str:
    raw = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not raw:
        return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
    url = database_url(raw, "")
    try:
        engine = create_engine(url)
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    except OperationalError as error:
        message = f"TEST_DATABASE_URL={raw} is unreachable: {error.orig}"
        if IN_CI:
            pytest.exit(message, returncode=3)
        print("\n" + "!" * 78 + f"\nSKIPPING THE WHOLE SUITE: {message}\n" + "!" * 78)
        pytest.skip(message, allow_module_level=True)
    return url


@contextmanager
def scratch_postgresql_database(suffix: str) -> Iterator[URL]:
    """A new, empty database named after TEST_DATABASE_URL's plus `_suffix` (test -> test_x),
    for tests that need a database of their own; dropped afterwards."""
    url = make_url(database_url(os.environ["TEST_DATABASE_URL"], ""))
    name = f"{url.database}_{suffix}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("instance")
    app = create_app(
        {
            "ENV_NAME": "testing",
            "SQLALCHEMY_DATABASE_URI": _test_database_url(tmp_path_factory),
        }
    )
    app.instance_path = str(instance)
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade(directory=str(Path(__file__).parent.parent / "migrations"))
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_database(request):
    """Every test that touches the app starts from empty tables."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    ctx = app.app_context()
    ctx.push()
    try:
        yield
    finally:
        db.session.remove()
        _empty_tables()
        cache.clear()
        ctx.pop()


def _empty_tables() -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a real server does.

    Tests keep an app context open for factories and queries; without this, requests would
    share its `g` (and Flask-Login's cached user) and its database session. The test's
    session is committed before and after, so each side sees what the other wrote. The
    response is read whole and closed before `open` returns, as a server closes it after
    sending, so work the app does after the response (mail) has run when a test looks.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        db.session.commit()
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.commit()
        return response


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app) -> Factories:
    return Factories()


@pytest.fixture
def catalog(app):
    """The real toolkit catalog: six priorities, eleven policies."""
    from campaign.catalog.operations import seed_catalog

    seed_catalog()
    db.session.commit()
    from campaign.catalog.models import Policy

    return list(db.session.scalars(db.select(Policy).order_by(Policy.id)))


@pytest.fixture(scope="session")
def smtp_server():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def mailbox(app, smtp_server, monkeypatch):
    """Points the app's mail settings at the loopback server; monkeypatch restores them."""
    for key, value in {
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": smtp_server.port,
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_SUPPRESS_SEND": False,
    }.items():
        monkeypatch.setitem(app.config, key, value)
    smtp_server.mailbox.clear()
    return smtp_server.mailbox


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = "correct horse battery"):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def count_queries(app):
    """Counts SQL statements run inside the `with` block: `with count_queries() as n: ...`."""

    class Counter:
        def __init__(self):
            self.count = 0

        def __enter__(self):
            event.listen(db.engine, "before_cursor_execute", self._on_execute)
            return self

        def __exit__(self, *exc):
            event.remove(db.engine, "before_cursor_execute", self._on_execute)

        def _on_execute(self, conn, cursor, statement, *args, **kwargs):
            # SQLite's BEGIN is sent by the app (database/sqlite.py); PostgreSQL's by the driver,
            # unseen. Neither is a query the page asked for.
            if not statement.startswith("BEGIN"):
                self.count += 1

    return Counter


def form_errors(response) -> list[str]:
    """The error messages a person sees on a re-shown form."""
    html = response.get_data(as_text=True)
    blocks = re.findall(r'<div class="error" id="[^"]+">(.*?)</div>', html, re.S)
    return [
        html_module.unescape(m.strip())
        for b in blocks
        for m in re.findall(r"<p>(.*?)</p>", b, re.S)
    ]
