"""Settings from the environment, with defaults that work on a fresh clone.

`CAMPAIGN_ENV` picks the class (development, testing, production). Production refuses to
start with the development secret key, because a known key lets anyone forge sessions.
"""

from __future__ import annotations

import os
from pathlib import Path

DEVELOPMENT_SECRET_KEY = "dev-only-not-secret"  # noqa: S105 - refused in production


def database_url(raw: str | None, instance_path: str) -> str:
    """Normalise a DATABASE_URL: SQLite under instance/ by default, psycopg 3 for PostgreSQL."""
    if not raw:
        return "sqlite:///" + str(Path(instance_path) / "campaign.sqlite3")
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    if raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw.removeprefix("postgresql://")
    return raw


class Config:
    SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
    SQLALCHEMY_DATABASE_URI: str | None = None  # filled by create_app from DATABASE_URL
    # Up to 20 connections at once: gunicorn.conf.py's 16 threads and the figures' refresher
    # each hold one for a whole request, and waiting for a connection would queue pages.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 5}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 14

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024
    MAX_FORM_MEMORY_SIZE = 500 * 1024

    # argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1).
    PASSWORD_HASH_TIME_COST = 2
    PASSWORD_HASH_MEMORY_KIB = 19 * 1024
    PASSWORD_HASH_PARALLELISM = 1

    CAMPAIGN_NAME = os.environ.get("CAMPAIGN_NAME", "No Secret Police")
    # Static URLs carry a content version (see templating.py), so browsers may keep them.
    SEND_FILE_MAX_AGE_DEFAULT = 60 * 60 * 24 * 365
    # The map draws boundaries itself; a basemap is opt-in, from a tile server you trust,
    # e.g. MAP_TILE_URL=https://tiles.example.org/{z}/{x}/{y}.png
    MAP_TILE_URL = os.environ.get("MAP_TILE_URL") or None
    MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION") or None
    TESTING = False
    DEBUG = False

    # Outgoing mail (campaign/mail.py). MAIL_SUPPRESS_SEND=1 logs messages instead.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "127.0.0.1")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"  # STARTTLS
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get(
        "MAIL_DEFAULT_SENDER", "No Secret Police <no-reply@localhost>"
    )
    MAIL_SUPPRESS_SEND = os.environ.get("MAIL_SUPPRESS_SEND", "0") == "1"
    # Reminder emails (flask send-reminders): after how many quiet days, and how often at most.
    REMINDER_AFTER_DAYS = int(os.environ.get("REMINDER_AFTER_DAYS", "30"))
    REMINDER_WINDOW_DAYS = int(os.environ.get("REMINDER_WINDOW_DAYS", "14"))
    # The site's address, for links in emails sent from the command line (cron has no request
    # to take the host from).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # Map and dashboard figures may show progress reports and new commitments this many
    # seconds late (never a write that hides something); see campaign/cache.py.
    AGGREGATE_MAX_LAG_SECONDS = float(os.environ.get("AGGREGATE_MAX_LAG_SECONDS", "30"))
    # How long a password reset link works, in seconds.
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600"))


class DevelopmentConfig(Config):
    DEBUG = False  # the debugger is an RCE on a shared network; opt in with --debug


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 8
    # Tests that read mail start a real SMTP server on loopback and turn sending back on.
    MAIL_SUPPRESS_SEND = True
    # Every write shows at once; tests of the lag turn it on.
    AGGREGATE_MAX_LAG_SECONDS = 0.0


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


class UnsafeConfigError(RuntimeError):
    """Raised at start-up when production would run with a guessable secret."""


def check_production_safety(config: dict) -> None:
    if config.get("ENV_NAME") == "production" and config.get("SECRET_KEY") in (
        None,
        "",
        DEVELOPMENT_SECRET_KEY,
    ):
        raise UnsafeConfigError(
            "SECRET_KEY must be set to a long random value when CAMPAIGN_ENV=production."
        )
