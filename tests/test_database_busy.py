"""A write that cannot get the database's lock in time is a friendly 503, never a 500.

SQLite writers queue for the write lock (BEGIN IMMEDIATE, busy_timeout); when another holds
it for longer than that, the person is told the site is busy and to try again, and nothing
was saved. PostgreSQL's equivalents (lock timeouts, deadlocks) are recognised the same way.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from campaign.accounts.roles import Role
from campaign.commitments.models import Commitment
from campaign.database import sqlite
from campaign.errors import is_database_busy
from campaign.extensions import db
from campaign.help.models import HelpTopic
from campaign.help.operations import ask_for_help


@contextmanager
def write_lock_held_elsewhere():
    """Another process's write transaction, as a second connection to the same file."""
    holder = sqlite3.connect(db.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@pytest.fixture
def short_busy_timeout(app, monkeypatch):
    """Writers give up after 50 ms instead of 5 s, so the test does not wait."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    monkeypatch.setattr(sqlite, "SQLITE_BUSY_TIMEOUT_MS", 50)
    db.engine.dispose()  # new connections take the new timeout
    yield
    monkeypatch.undo()
    db.engine.dispose()


def test_a_submission_that_cannot_get_the_write_lock_is_a_503_and_saves_nothing(
    short_busy_timeout, client, auth, make, catalog
):
    official = make.user()
    auth.login(official.email)
    pledge = {f"commit_{catalog[0].id}": "y", f"visibility_{catalog[0].id}": "public"}
    with write_lock_held_elsewhere():
        response = client.post("/commitments/new", data=pledge)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "The site is busy" in page and "Nothing was saved" in page
    assert "locked" not in page and "Traceback" not in page
    assert db.session.scalar(select(func.count()).select_from(Commitment)) == 0

    assert client.post("/commitments/new", data=pledge).status_code == 302


@contextmanager
def begin_statements():
    """The BEGIN statements SQLite was sent inside the block."""
    seen: list[str] = []

    def on_execute(conn, cursor, statement, *args):
        if statement.startswith("BEGIN"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)


def test_submissions_and_commands_take_the_write_lock_up_front_and_pages_do_not(
    app, client, runner, auth, make, catalog, monkeypatch
):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's BEGIN")
    official = make.user()
    auth.login(official.email)
    with begin_statements() as seen:
        client.get("/commitments/new")
    assert seen and set(seen) == {"BEGIN"}
    with begin_statements() as seen:
        client.post("/commitments/new", data={f"commit_{catalog[0].id}": "y"})
    assert "BEGIN IMMEDIATE" in seen
    db.session.commit()
    monkeypatch.setenv("CAMPAIGN_PASSWORD", "a long passphrase here")
    with begin_statements() as seen:
        result = runner.invoke(args=["create-user", "sam@example.org", "--name", "Sam"])
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {"BEGIN IMMEDIATE"}


@pytest.fixture
def lock_free_during_mail(app, mailbox, monkeypatch) -> list[bool]:
    """For each message the mail server takes: could another writer take the lock meanwhile?
    A slow mail server must not keep every other writer waiting (and then failing)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    path = db.engine.url.database
    answers: list[bool] = []
    receive = mailbox.handle_DATA

    async def receive_and_try_the_lock(server, session, envelope):
        other = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            answers.append(True)
        except sqlite3.OperationalError:
            answers.append(False)
        finally:
            other.close()
        return await receive(server, session, envelope)

    monkeypatch.setattr(mailbox, "handle_DATA", receive_and_try_the_lock)
    return answers


def test_the_write_lock_is_free_while_a_reset_email_is_sent(
    client, make, mailbox, lock_free_during_mail
):
    make.user(email="ana@example.org")
    assert client.post("/password/forgot", data={"email": "ana@example.org"}).status_code == 302
    assert len(mailbox.messages) == 1
    assert lock_free_during_mail == [True]


def test_the_write_lock_is_free_while_a_staff_reply_is_emailed(
    client, auth, make, catalog, mailbox, lock_free_during_mail
):
    official = make.user()
    staff = make.user(Role.STAFF)
    commitment = make.commitment(official, catalog[0])
    help_request = ask_for_help(commitment, official, HelpTopic.OTHER, "Who can help?")
    db.session.commit()
    auth.login(staff.email)
    response = client.post(f"/help/{help_request.id}", data={"body": "Here is the model."})
    assert response.status_code == 302
    assert len(mailbox.messages) == 1
    assert lock_free_during_mail == [True]


def test_reading_pages_does_not_wait_for_a_writer(short_busy_timeout, client, catalog):
    with write_lock_held_elsewhere():
        assert client.get("/").status_code == 200


def test_postgresql_lock_timeout_counts_as_busy(app):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's lock timeout")
    with db.engine.connect() as holder, db.engine.connect() as waiter:
        holder.execute(text("LOCK TABLE data_revision IN ACCESS EXCLUSIVE MODE"))
        waiter.execute(text("SET LOCAL lock_timeout = '50ms'"))
        with pytest.raises(OperationalError) as raised:
            waiter.execute(text("SELECT revision FROM data_revision"))
    assert is_database_busy(raised.value)


def test_other_database_errors_are_not_busy(app):
    with db.engine.connect() as conn, pytest.raises(OperationalError) as raised:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SET LOCAL statement_timeout = '10ms'"))
            conn.execute(text("SELECT pg_sleep(1)"))
        else:
            conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_database_busy(raised.value)
