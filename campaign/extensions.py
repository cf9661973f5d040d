"""Extensions, created unbound so the app factory can bind them to any app."""

from __future__ import annotations

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
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

# How a request is served: no GET, HEAD or OPTIONS writes (database/sqlite.py, sessions).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


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
