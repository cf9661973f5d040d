"""The migrations build exactly the schema the models describe, and can be undone.

On SQLite and, when TEST_DATABASE_URL is PostgreSQL, on a fresh PostgreSQL database of its
own: an empty database goes up to head and back down to base. The comparison uses the same
options as `flask db migrate` and `flask db check` (types), adds server defaults, and checks
the CHECK constraints that keep enum columns (db_enum) to their values, which Alembic's
comparison does not look at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import CheckConstraint, inspect
from sqlalchemy.engine import Connection

from campaign import create_app
from campaign.config import database_url
from campaign.extensions import db
from tests.conftest import scratch_postgresql_database

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")
CORE_TABLES = {"user", "commitment", "timeline_entry", "jurisdiction", "audit_entry"}


def compare_options(app: Flask) -> dict:
    """The project's own comparison options (campaign/extensions.py), plus server defaults."""
    configured = app.extensions["migrate"].configure_args
    return {
        **{name: value for name, value in configured.items() if name.startswith("compare_")},
        "compare_server_default": True,
    }


def schema_differences(app: Flask, conn: Connection) -> list:
    context = MigrationContext.configure(conn, opts=compare_options(app))
    return compare_metadata(context, db.metadata)


def _values(sql: str) -> list[str]:
    return sorted(re.findall(r"'([^']*)'", sql))


def check_constraints_in_models(conn: Connection) -> dict:
    """{(table, constraint name): (column, allowed values)} as the models declare them."""
    found = {}
    for table in db.metadata.sorted_tables:
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                sql = str(
                    constraint.sqltext.compile(
                        dialect=conn.dialect, compile_kwargs={"literal_binds": True}
                    )
                )
                column = re.search(r'(\w+)"? IN \(', sql).group(1)
                found[(table.name, constraint.name)] = (column, _values(sql))
    return found


def check_constraints_in_database(conn: Connection) -> dict:
    """The same, read back from the database's own catalog."""
    inspector = inspect(conn)
    found = {}
    for table in db.metadata.sorted_tables:
        for constraint in inspector.get_check_constraints(table.name):
            sql = constraint["sqltext"]
            column = re.match(r'\W*"?(\w+)', sql).group(1)
            found[(table.name, constraint["name"])] = (column, _values(sql))
    return found


def assert_schema_matches_the_models(app: Flask) -> None:
    with db.engine.connect() as conn:
        assert schema_differences(app, conn) == []
        in_models = check_constraints_in_models(conn)
        assert in_models, "the models declare no enum CHECK constraints: is db_enum used?"
        assert check_constraints_in_database(conn) == in_models


def test_migrated_schema_matches_the_models(app):
    assert_schema_matches_the_models(app)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    """The URL of a database with nothing in it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.sqlite3"
        return
    raw = os.environ.get("TEST_DATABASE_URL", "")
    if not database_url(raw, "").startswith("postgresql"):
        pytest.skip("TEST_DATABASE_URL is not PostgreSQL")
    with scratch_postgresql_database("migrations") as url:
        yield url.render_as_string(hide_password=False)


def test_an_empty_database_upgrades_to_the_models_schema_and_downgrades_to_nothing(
    empty_database,
):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        try:
            upgrade(directory=MIGRATIONS)
            assert set(inspect(db.engine).get_table_names()) >= CORE_TABLES
            assert_schema_matches_the_models(app)

            downgrade(directory=MIGRATIONS, revision="base")
            assert inspect(db.engine).get_table_names() == ["alembic_version"]
            if db.engine.dialect.name == "postgresql":  # no leftover sequences or types
                with db.engine.connect() as conn:
                    assert inspect(conn).get_sequence_names() == []
                    assert inspect(conn).get_enums() == []

            upgrade(directory=MIGRATIONS)  # and the way up again from there
            assert_schema_matches_the_models(app)
        finally:
            db.session.remove()
            db.engine.dispose()
