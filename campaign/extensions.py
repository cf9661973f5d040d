"""Extensions, created unbound so the app factory can bind them to any app."""

from __future__ import annotations

import sqlite3

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.dialects.sqlite.base import SQLiteCompiler
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()


@event.listens_for(Engine, "connect")
def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """SQLite needs foreign keys switched on and a busy timeout so writers queue, not fail."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Aggregates scan the commitment table; a 64 MiB page cache keeps it in memory.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()


def _sqlite_from_hint(self, table, text: str) -> str:
    return text


# SQLAlchemy accepts `select(...).with_hint(table, text, "sqlite")` but its SQLite compiler
# drops the text; render it after the table name, where SQLite reads `NOT INDEXED` and
# `INDEXED BY name` (see commitments/aggregates.py). Other dialects are untouched.
SQLiteCompiler.get_from_hint_text = _sqlite_from_hint


def db_enum(enum_class, name: str):
    """A string column limited to an enum's values.

    Stored as VARCHAR with a CHECK constraint rather than a PostgreSQL ENUM type, so adding a
    stage later is an ordinary migration on both databases.
    """
    from sqlalchemy import Enum

    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda e: [m.value for m in e],
    )
