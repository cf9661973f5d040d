"""SQLite as this app uses it: one writer at a time per process, WAL, foreign keys, a busy
timeout, and transactions that take the write lock up front where the work will write.

The app's SQLite adapter, kept beside the write queue and checkpoints it relies on; the
factory installs it (`install()`). Nothing here applies to PostgreSQL.
"""

from __future__ import annotations

import sqlite3

import click
from flask import g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from campaign.database import checkpoint
from campaign.database.writequeue import QueuedConnection
from campaign.extensions import SAFE_METHODS, db

# How long a SQLite writer waits for another's transaction before giving up (the request
# then answers 503, see errors.py). A module setting so a test can shorten it.
SQLITE_BUSY_TIMEOUT_MS = 5000
# Flask commands that serve or wait for a person rather than do one job and exit.
INTERACTIVE_COMMANDS = frozenset({"run", "shell"})


def _queue_sqlite_writers(dialect, connection_record, cargs, cparams) -> None:
    """Writers of one process take turns for SQLite's write lock (database/writequeue.py)."""
    if dialect.name == "sqlite" and dialect.driver == "pysqlite":
        cparams.setdefault("factory", QueuedConnection)


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite needs foreign keys switched on and a busy timeout so writers queue, not fail."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        # pysqlite would BEGIN (DEFERRED) by itself before the first write; we BEGIN ourselves
        # in _begin_sqlite instead (SQLAlchemy's documented recipe for pysqlite).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_MS)}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if getattr(dbapi_connection, "database", None) in checkpoint.running:
            # A background thread checkpoints (campaign/database/checkpoint.py).
            cursor.execute(f"PRAGMA wal_autocheckpoint={checkpoint.BACKSTOP_PAGES}")
        # Aggregates scan the commitment table; a 64 MiB page cache keeps it in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()


def _begin_sqlite(conn) -> None:
    if conn.dialect.name != "sqlite":
        return
    statement = sqlite_begin_statement()
    raw = conn.connection.dbapi_connection
    if statement != "BEGIN IMMEDIATE" or not isinstance(raw, QueuedConnection):
        conn.exec_driver_sql(statement)
        return
    try:
        raw.wait_turn(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000)
    except sqlite3.OperationalError as error:
        raise OperationalError(statement, (), error) from error
    try:
        conn.exec_driver_sql(statement)
    except BaseException:
        raw.leave_queue()
        raise


def _note_request_work_done(conn) -> None:
    if conn.dialect.name == "sqlite" and has_request_context():
        g.sqlite_request_work_done = True


def end_transaction_before_slow_work() -> None:
    """Commit now, before something slow that needs no lock (a password hash), and have the
    request's next transaction take the write lock up front again.

    On SQLite a POST's transaction holds the database's only write lock from its first
    statement: fifty people signing in at once would otherwise queue their argon2 hashes
    (tens of milliseconds each) behind that lock, and the last ones would time out.
    """
    db.session.commit()
    if has_request_context():
        g.sqlite_request_work_done = False


def sqlite_begin_statement() -> str:
    """How a SQLite transaction starts: BEGIN IMMEDIATE where the work is expected to write.

    A DEFERRED transaction that read first and then writes must upgrade its lock; in WAL mode,
    if another process committed in between, SQLite fails at once with "database is locked"
    (its snapshot is stale, so waiting cannot help and busy_timeout is not consulted).
    BEGIN IMMEDIATE takes the write lock up front, so writers queue on busy_timeout instead,
    and what a write reads is read under the same lock (no check-then-insert races).

    But only one IMMEDIATE transaction runs at a time, so taking it for every page would queue
    all readers behind writers. Hence:
    - Requests other than GET/HEAD/OPTIONS begin IMMEDIATE, until the view has committed (or
      rolled back) once: what follows is reading for the email and the redirect, and the
      write lock must not wait on a mail server. A view ends its transaction before mailing.
    - Safe requests begin DEFERRED and, in WAL mode, read a snapshot without waiting for
      anyone (no GET writes).
    - Flask commands (cron jobs, seeding, migrations, backups) begin IMMEDIATE, except
      `flask shell`, where a person at a prompt must not hold the write lock while they think,
      and `flask run`, where the request decides, as under gunicorn.
    - Other code (tests, scripts) begins DEFERRED: such a transaction that read before another
      process wrote cannot write any more, so commit or roll back before writing.
    """
    command = click.get_current_context(silent=True)
    if command is not None and command.command.name not in INTERACTIVE_COMMANDS:
        return "BEGIN IMMEDIATE"
    if (
        has_request_context()
        and request.method not in SAFE_METHODS
        and not g.get("sqlite_request_work_done")
    ):
        return "BEGIN IMMEDIATE"
    return "BEGIN"


def _sqlite_from_hint(self, table, text: str) -> str:
    return text


_LISTENERS = (
    ("do_connect", _queue_sqlite_writers),
    ("connect", _configure_sqlite),
    ("begin", _begin_sqlite),
    ("commit", _note_request_work_done),
    ("rollback", _note_request_work_done),
)


def install() -> None:
    """Make every engine's SQLite connections behave as this module says (the factory calls
    it once; calling it again changes nothing). PostgreSQL connections are left alone.

    SQLAlchemy accepts `select(...).with_hint(table, text, "sqlite")` but its SQLite compiler
    drops the text; it is rendered after the table name, where SQLite reads `NOT INDEXED`
    and `INDEXED BY name` (see commitments/aggregates.py). Other dialects are untouched.
    """
    for name, listener in _LISTENERS:
        if not event.contains(Engine, name, listener):
            event.listen(Engine, name, listener)
    SQLiteCompiler.get_from_hint_text = _sqlite_from_hint
