"""Settings from the environment, with defaults that work on a fresh clone.

`CAMPAIGN_ENV` picks the class (development, testing, production). Production refuses to
start with the development secret key, because a known key lets anyone forge sessions, and
without `PUBLIC_URL`, because links in emails are built on it and requests naming another
host are refused (Flask's `TRUSTED_HOSTS`, see `trusted_hosts`).
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

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
    # pool_pre_ping is for PostgreSQL only (create_app drops it for SQLite).
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 20, "max_overflow": 5}

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "0") == "1"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    # Server-side sign-in sessions (accounts/sessions.py): a session ends after this many days
    # whatever happens, or after this many days unused. "Keep me signed in" lasts as long.
    SESSION_ABSOLUTE_DAYS = int(os.environ.get("SESSION_ABSOLUTE_DAYS", "30"))
    SESSION_IDLE_DAYS = int(os.environ.get("SESSION_IDLE_DAYS", "14"))
    # "Last seen" is written at most this often per session, so browsing costs no writes.
    SESSION_TOUCH_SECONDS = int(os.environ.get("SESSION_TOUCH_SECONDS", "300"))
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * SESSION_ABSOLUTE_DAYS

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    # Request bodies: every form here is a few KiB, so a small cap keeps a flood of large
    # bodies cheap to refuse (413). An upload view raises its own cap with
    # security.allow_large_body("IMPORT_MAX_UPLOAD_BYTES").
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024)))
    MAX_FORM_MEMORY_SIZE = int(os.environ.get("MAX_FORM_MEMORY_SIZE", str(256 * 1024)))
    MAX_FORM_PARTS = int(os.environ.get("MAX_FORM_PARTS", "1000"))
    IMPORT_MAX_UPLOAD_BYTES = int(os.environ.get("IMPORT_MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))
    # How many proxies in front of the app set X-Forwarded-For/-Proto (0: none, trust nothing).
    # Behind one TLS-terminating proxy, PROXY_COUNT=1 makes HTTPS requests secure (HSTS).
    PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))

    # argon2id at OWASP's recommended minimum (m=19 MiB, t=2, p=1).
    PASSWORD_HASH_TIME_COST = 2
    PASSWORD_HASH_MEMORY_KIB = 19 * 1024
    PASSWORD_HASH_PARALLELISM = 1

    CAMPAIGN_NAME = os.environ.get("CAMPAIGN_NAME", "No Secret Police")
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
    # The site's address: every link in an email is built on it (campaign/mail.py), never on
    # the request's Host, and requests naming another host are refused (TRUSTED_HOSTS).
    PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:5000")
    # "Counted, not named": a block of unnamed commitments enters a published figure only
    # when more than this many jurisdictions contribute to it (commitments/disclosure.py).
    DISCLOSURE_MIN_JURISDICTIONS = os.environ.get("DISCLOSURE_MIN_JURISDICTIONS", "3")
    # Other host names requests may use, comma-separated (e.g. the address a health check
    # uses); ".example.org" accepts every subdomain.
    EXTRA_TRUSTED_HOSTS = [h.strip() for h in os.environ.get("EXTRA_TRUSTED_HOSTS", "").split(",")]
    # How long a link confirming a new account's email address works, in seconds.
    EMAIL_CONFIRMATION_MAX_AGE = int(os.environ.get("EMAIL_CONFIRMATION_MAX_AGE", str(3 * 86400)))
    # Map and dashboard figures may show progress reports and new commitments this many
    # seconds late (never a write that hides something); see campaign/figures/cache.py.
    AGGREGATE_MAX_LAG_SECONDS = float(os.environ.get("AGGREGATE_MAX_LAG_SECONDS", "30"))
    # How long a password reset link works, in seconds.
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", "3600"))
    # Invitations to claim an imported account (campaign/accounts/invitations.py).
    INVITATION_MAX_AGE = int(os.environ.get("INVITATION_MAX_AGE", str(14 * 24 * 3600)))

    # A second factor (TOTP, accounts/second_factor.py): staff and admins without one are
    # sent to enrol before any other page. On in production; anyone may enrol regardless.
    REQUIRE_STAFF_SECOND_FACTOR = os.environ.get("REQUIRE_STAFF_SECOND_FACTOR", "0") == "1"
    # How long after the right password the code may be entered.
    SECOND_FACTOR_PENDING_SECONDS = int(os.environ.get("SECOND_FACTOR_PENDING_SECONDS", "300"))

    # Throttling of sign-in, sign-up and password reset (campaign/web/throttle.py). Counts live in
    # Redis when RATELIMIT_STORAGE_URI (or REDIS_URL) is set, so every worker shares them;
    # otherwise in each process's memory, with a warning at start-up. Limits are written like
    # "10 per 15 minutes" ("; " joins several); an empty value switches that one off.
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") == "1"
    RATELIMIT_STORAGE_URI = (
        os.environ.get("RATELIMIT_STORAGE_URI") or os.environ.get("REDIS_URL") or None
    )
    RATELIMIT_KEY_PREFIX = os.environ.get("RATELIMIT_KEY_PREFIX", "campaign")
    RATELIMIT_STRATEGY = os.environ.get("RATELIMIT_STRATEGY", "moving-window")
    # Failed sign-ins (and failed current-password checks) per email address, and per client.
    RATELIMIT_LOGIN_PER_ACCOUNT = os.environ.get("RATELIMIT_LOGIN_PER_ACCOUNT", "10 per 15 minutes")
    RATELIMIT_LOGIN_PER_ADDRESS = os.environ.get("RATELIMIT_LOGIN_PER_ADDRESS", "50 per 15 minutes")
    # Sign-up form submissions per client (the jurisdiction picker can take two or three).
    RATELIMIT_SIGNUP_PER_ADDRESS = os.environ.get("RATELIMIT_SIGNUP_PER_ADDRESS", "20 per hour")
    # Reset-link requests per email address and per client; each may send an email.
    RATELIMIT_RESET_PER_ACCOUNT = os.environ.get("RATELIMIT_RESET_PER_ACCOUNT", "5 per hour")
    RATELIMIT_RESET_PER_ADDRESS = os.environ.get("RATELIMIT_RESET_PER_ADDRESS", "20 per hour")
    # Unusable reset links and refused new passwords submitted per client.
    RATELIMIT_RESET_LINK_PER_ADDRESS = os.environ.get(
        "RATELIMIT_RESET_LINK_PER_ADDRESS", "20 per hour"
    )


class DevelopmentConfig(Config):
    DEBUG = False  # the debugger is an RCE on a shared network; opt in with --debug
    EXTRA_TRUSTED_HOSTS = [*Config.EXTRA_TRUSTED_HOSTS, "localhost"]


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret"  # noqa: S105
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_TIME_COST = 1
    PASSWORD_HASH_MEMORY_KIB = 8
    # Tests that read mail start a real SMTP server on loopback and turn sending back on.
    MAIL_SUPPRESS_SEND = True
    # The suite signs in hundreds of times; tests/test_throttling.py builds apps with limits on.
    RATELIMIT_ENABLED = False
    # Every write shows at once; tests of the lag turn it on.
    AGGREGATE_MAX_LAG_SECONDS = 0.0
    # The test client's host, and the HTTPS address some tests visit.
    EXTRA_TRUSTED_HOSTS = ["localhost", "campaign.example.org"]


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "1") == "1"
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    PUBLIC_URL = os.environ.get("PUBLIC_URL") or None  # required: no default to guess wrong
    REQUIRE_STAFF_SECOND_FACTOR = os.environ.get("REQUIRE_STAFF_SECOND_FACTOR", "1") == "1"


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


class UnsafeConfigError(RuntimeError):
    """Raised at start-up when production would run with a guessable secret or no address."""


LOWEST_DISCLOSURE_MIN_JURISDICTIONS = 3


def check_production_safety(config: dict) -> None:
    check_disclosure_threshold(config)
    production = config.get("ENV_NAME") == "production"
    if production and config.get("SECRET_KEY") in (None, "", DEVELOPMENT_SECRET_KEY):
        raise UnsafeConfigError(
            "SECRET_KEY must be set to a long random value when CAMPAIGN_ENV=production."
        )
    if production and not config.get("PUBLIC_URL"):
        raise UnsafeConfigError(
            "PUBLIC_URL must be set to the site's address (e.g. https://commit.example.org) "
            "when CAMPAIGN_ENV=production: links in emails are built on it."
        )
    public = urlsplit(config.get("PUBLIC_URL") or "http://127.0.0.1")
    if public.scheme not in ("http", "https") or not public.hostname or public.query:
        raise ValueError(
            f"PUBLIC_URL={config.get('PUBLIC_URL')!r} is not a site address like "
            "https://commit.example.org."
        )


def trusted_hosts(config: dict) -> list[str]:
    """The host names a request may use: PUBLIC_URL's and EXTRA_TRUSTED_HOSTS (Flask refuses
    any other with 400, so a forged Host header never reaches a view)."""
    hosts = [urlsplit(config["PUBLIC_URL"]).hostname, *config.get("EXTRA_TRUSTED_HOSTS", [])]
    return list(dict.fromkeys(h for h in hosts if h))


def check_disclosure_threshold(config: dict) -> None:
    """Refuse to start with a threshold so low that a figure could point at an official."""
    value = config.get("DISCLOSURE_MIN_JURISDICTIONS")
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < LOWEST_DISCLOSURE_MIN_JURISDICTIONS:
        raise UnsafeConfigError(
            "DISCLOSURE_MIN_JURISDICTIONS must be a whole number of at least "
            f"{LOWEST_DISCLOSURE_MIN_JURISDICTIONS}, not {value!r}."
        )
    config["DISCLOSURE_MIN_JURISDICTIONS"] = number
