"""Error pages that explain, never a traceback; a failed request never leaves a half write."""

from __future__ import annotations

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from campaign.extensions import db

MESSAGES = {
    400: ("Something in that request was not right", "Go back and try again."),
    403: ("You do not have access to this page", "Sign in with an account that does."),
    404: ("Page not found", "The page may have moved, or the address is mistyped."),
    405: ("That action is not allowed here", "Go back and use the buttons on the page."),
    413: ("That was too large", "Send a smaller file or shorter text."),
    422: ("Some answers need attention", "Go back and check the form."),
    429: ("Too many attempts", "Wait a minute, then try again."),
    500: ("Something went wrong on our side", "Nothing was saved. Please try again shortly."),
}


def register_errorhandlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        body, code = _render(error.code or 500)
        # Keep what the error says beside its page: Retry-After on 429 and 503, Allow on 405.
        headers = [(k, v) for k, v in error.get_headers() if k.lower() != "content-type"]
        return body, code, headers

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        db.session.rollback()
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _render(InternalServerError.code)


def _render(code: int) -> tuple:
    title, advice = MESSAGES.get(code, (f"Error {code}", "Please try again."))
    if request.path.startswith("/places/search") or request.accept_mimetypes.best == (
        "application/json"
    ):
        return {"error": title}, code
    return render_template("errors/error.html", code=code, title=title, advice=advice), code
