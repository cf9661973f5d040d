"""Error pages that explain, never a traceback; a failed request never leaves a half write."""

from __future__ import annotations

import sqlite3

from flask import Flask, current_app, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    SecurityError,
    ServiceUnavailable,
)

from campaign.extensions import db

# Seconds a client is asked to wait after the database was too busy to take a write.
RETRY_AFTER_SECONDS = 5
# SQLite's result codes for a lock held by someone else (extended codes share the low byte).
SQLITE_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
# PostgreSQL: lock_not_available, deadlock_detected, serialization_failure.
POSTGRES_BUSY_STATES = {"55P03", "40P01", "40001"}

MESSAGES = {
    400: ("Something in that request was not right", "Go back and try again."),
    403: ("You do not have access to this page", "Sign in with an account that does."),
    404: ("Page not found", "The page may have moved, or the address is mistyped."),
    405: ("That action is not allowed here", "Go back and use the buttons on the page."),
    413: ("That was too large", "Send a smaller file or shorter text."),
    422: ("Some answers need attention", "Go back and check the form."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong on our side", "Nothing was saved. Please try again shortly."),
    503: ("The site is busy", "Nothing was saved. Please try again in a few seconds."),
}


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        body, code = _render(error.code or 500)
        # Keep what the error says beside its page: Retry-After on 429 and 503, Allow on 405.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, code, headers

    @app.errorhandler(SecurityError)
    def handle_untrusted_host(error: SecurityError):
        """A Host that is not the site's (TRUSTED_HOSTS): no URL can be built for it, so a
        short page without links rather than the template that would need them."""
        body = (
            "<!doctype html><html lang=en><title>Unknown address</title>"
            "<h1>This site does not answer at this address</h1>"
        )
        return body, 400, {"Content-Type": "text/html; charset=utf-8"}

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError.code)

    @app.errorhandler(OperationalError)
    def handle_database_error(error: OperationalError):
        if not is_database_busy(error):
            return handle_unexpected(error)
        db.session.rollback()
        app.logger.warning("Database busy on %s %s: %s", request.method, request.path, error.orig)
        return _render_busy()


def is_database_busy(error: OperationalError) -> bool:
    """True when the write failed only because others held the lock too long: worth a retry."""
    orig = error.orig
    code = getattr(orig, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in SQLITE_BUSY_CODES
    return getattr(orig, "sqlstate", None) in POSTGRES_BUSY_STATES


def _render_busy():
    """503 with Retry-After, on a page that needs no database.

    The template is rendered without the context processors: Flask-Login's would load the
    signed-in user, waiting for the same lock again.
    """
    code = ServiceUnavailable.code
    title, advice = MESSAGES[code]
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if request.path.startswith("/places/search") or request.accept_mimetypes.best == (
        "application/json"
    ):
        return {"error": title}, code, headers
    page = current_app.jinja_env.get_template("errors/busy.html").render(
        code=code, title=title, advice=advice, campaign_name=current_app.config["CAMPAIGN_NAME"]
    )
    return page, code, headers


def _render(code: int) -> tuple:
    title, advice = MESSAGES.get(code, (f"Error {code}", "Please try again."))
    if request.path.startswith("/places/search") or request.accept_mimetypes.best == (
        "application/json"
    ):
        return {"error": title}, code
    return render_template("errors/error.html", code=code, title=title, advice=advice), code
