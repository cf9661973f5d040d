"""The migrations build exactly the schema the models describe, and can be undone."""

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect

from campaign import create_app
from campaign.extensions import db

MIGRATIONS = str(Path(__file__).parent.parent / "migrations")


def test_migrated_schema_matches_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_upgrade_and_downgrade_on_an_empty_sqlite_database(tmp_path):
    url = f"sqlite:///{tmp_path}/empty.sqlite3"
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        assert {"user", "commitment", "timeline_entry", "jurisdiction"} <= set(
            inspect(db.engine).get_table_names()
        )
        downgrade(directory=MIGRATIONS, revision="base")
        assert inspect(db.engine).get_table_names() == ["alembic_version"]
        db.engine.dispose()
    create_engine(url).dispose()
