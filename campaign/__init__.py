"""campaign: a commitment and campaign coordination tracker for local elected officials."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.routing import BaseConverter, IntegerConverter

from campaign.config import CONFIGS, check_production_safety, database_url, trusted_hosts
from campaign.security import CampaignRequest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class RecordIdConverter(IntegerConverter):
    """`<id:...>`: a positive id that fits the databases' integer column, else a 404.

    Without the bound, /commitments/99999999999999999999 overflows SQLite and PostgreSQL.
    """

    def __init__(self, url_map, *args, **kwargs):
        super().__init__(url_map, min=1, max=2**31 - 1)


class SlugConverter(BaseConverter):
    """`<slug:...>`: lower-case words and digits joined by hyphens, as catalog slugs are.

    Anything else names no record, so it is a 404 before any query; a NUL byte in a plain
    string parameter made PostgreSQL refuse the query (a 500).
    """

    regex = r"[a-z0-9]+(?:-[a-z0-9]+)*"


def create_app(overrides: Mapping | None = None) -> Flask:
    """Build an app: config, extensions, blueprints, error pages, security headers,
    commands. No I/O."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    configure(app, overrides)
    app.url_map.converters["id"] = RecordIdConverter
    app.request_class = CampaignRequest
    app.url_map.converters["slug"] = SlugConverter
    register_extensions(app)
    register_blueprints(app)
    register_throttles(app)
    register_errorhandlers(app)
    register_static_files(app)
    register_security_headers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure(app: Flask, overrides: Mapping | None) -> None:
    env_name = (overrides or {}).get("ENV_NAME") or os.environ.get("CAMPAIGN_ENV", "development")
    if env_name not in CONFIGS:
        raise ValueError(f"CAMPAIGN_ENV must be one of {', '.join(CONFIGS)}, not {env_name!r}.")
    app.config.from_object(CONFIGS[env_name])
    app.config["ENV_NAME"] = env_name
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(
        os.environ.get("DATABASE_URL"), app.instance_path
    )
    if overrides:
        app.config.update(overrides)
    if str(app.config["SQLALCHEMY_DATABASE_URI"]).startswith("sqlite"):
        # A file cannot drop a connection: checking each one out with a SELECT 1 first
        # (for PostgreSQL restarts) is only a query more on every request.
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.pop("pool_pre_ping", None)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    check_production_safety(app.config)
    if "TRUSTED_HOSTS" not in (overrides or {}):
        app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)


def register_extensions(app: Flask) -> None:
    from campaign.database import sqlite
    from campaign.extensions import csrf, db, login_manager, migrate

    # SQLite connections: WAL, foreign keys, a busy timeout, one writer at a time per
    # process, and the write lock taken up front for work that writes (database/sqlite.py).
    sqlite.install()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Please sign in to continue."
    login_manager.login_message_category = "info"

    from campaign import models  # noqa: F401  (every model registered before first use)
    from campaign.figures import cache, revision

    # Every write to a table the figures read raises the data's counters (revision.py);
    # cached figures are keyed by them and by the reader's own latest write (cache.py).
    revision.track_writes()
    cache.init_app(
        app,
        current=revision.current_pair,
        seen=revision.seen_revision,
        hiding_since=revision.hiding_since,
    )
    from campaign.accounts.sessions import load_user

    # The cookies carry a sign-in's token, never the user id (accounts/sessions.py).
    login_manager.user_loader(load_user)


def register_blueprints(app: Flask) -> None:
    from campaign.accounts.admin_views import bp as admin_bp
    from campaign.accounts.confirmation_views import bp as confirmation_bp
    from campaign.accounts.reset_views import bp as password_bp
    from campaign.accounts.second_factor_views import bp as second_factor_bp
    from campaign.accounts.views import bp as accounts_bp
    from campaign.audit.views import bp as audit_bp
    from campaign.catalog.views import bp as catalog_bp
    from campaign.dashboard.views import bp as dashboard_bp
    from campaign.directory.views import bp as directory_bp
    from campaign.followup.views import bp as followup_bp
    from campaign.help.views import bp as help_bp
    from campaign.imports.triage_views import bp as triage_bp
    from campaign.imports.views import bp as imports_bp
    from campaign.layers.views import bp as layers_bp
    from campaign.map.views import bp as map_bp
    from campaign.officials.views import bp as commitments_bp
    from campaign.pages.views import bp as pages_bp
    from campaign.places.views import bp as places_bp
    from campaign.web.health import bp as health_bp

    for blueprint in (
        pages_bp,
        catalog_bp,
        accounts_bp,
        password_bp,
        confirmation_bp,
        second_factor_bp,
        commitments_bp,
        places_bp,
        map_bp,
        dashboard_bp,
        followup_bp,
        directory_bp,
        help_bp,
        imports_bp,
        layers_bp,
        triage_bp,
        admin_bp,
        audit_bp,
        health_bp,
    ):
        app.register_blueprint(blueprint)


def register_throttles(app: Flask) -> None:
    """Limits on sign-in, sign-up and reset; wraps views, so it runs after the blueprints."""
    from campaign.accounts.throttles import PAUSED, THROTTLES
    from campaign.web import throttle

    throttle.init_app(app, THROTTLES, PAUSED)


def register_errorhandlers(app: Flask) -> None:
    from campaign.errors import register_errorhandlers as register

    register(app)


def register_static_files(app: Flask) -> None:
    """Precompressed static files with their cache rules; before the headers' ProxyFix."""
    from campaign.web import static_files

    static_files.register(app)


def register_security_headers(app: Flask) -> None:
    from campaign.web import headers

    headers.register(app)


def register_template_helpers(app: Flask) -> None:
    """Filters and globals for every template; pages ask `roles` what the viewer may do."""
    from campaign.accounts import roles
    from campaign.web import templating

    templating.register(app, {"roles": roles})


def register_commands(app: Flask) -> None:
    from campaign.cli import register

    register(app)
