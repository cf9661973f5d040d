"""Password hashing, safe redirects, the role decorator and request body limits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Request, abort, current_app, request, session
from flask_login import current_user
from flask_login.utils import decode_cookie


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["PASSWORD_HASH_TIME_COST"],
        memory_cost=cfg["PASSWORD_HASH_MEMORY_KIB"],
        parallelism=cfg["PASSWORD_HASH_PARALLELISM"],
    )


def hash_password(password: str) -> str:
    """argon2id with the configured cost (OWASP minimum in production)."""
    return _hasher().hash(password)


# A real hash to verify against when the email is unknown, so both failures take as long.
_DUMMY_HASH: dict[tuple, str] = {}


def verify_password(password_hash: str | None, password: str) -> bool:
    hasher = _hasher()
    if not password_hash:
        params = (hasher.time_cost, hasher.memory_cost)
        if params not in _DUMMY_HASH:
            _DUMMY_HASH[params] = hasher.hash("not the password")
        password_hash = _DUMMY_HASH[params]
        with contextlib.suppress(VerificationError, InvalidHashError):
            hasher.verify(password_hash, password)
        return False
    try:
        return hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def is_safe_redirect_target(target: str | None) -> bool:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/"):
        return False
    if target.startswith("//") or target.startswith("/\\") or "\\" in target:
        return False
    if any(ord(ch) < 32 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def role_required(predicate: Callable[[object], bool]):
    """Guard a view with a predicate from accounts.roles; anonymous users go to login."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if not predicate(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


LARGE_BODY_ATTRIBUTE = "large_body_config_key"


def has_signed_in_cookie() -> bool:
    """Whether the request carries a signed-in session or a remember-me cookie.

    Read from the cookies rather than current_user, so it costs no query and works before
    the view runs; a stale cookie only errs towards caution where it is used.
    """
    remember_cookie = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    remembered = request.cookies.get(remember_cookie)
    # Both cookies are signed with SECRET_KEY: a made-up one counts for nothing.
    return bool(session.get("_user_id") or (remembered and decode_cookie(remembered)))


def allow_large_body(config_key: str):
    """Let one upload view accept a multipart body up to `config[config_key]` bytes.

    Every other request stops at MAX_CONTENT_LENGTH. The limit is read by CampaignRequest
    whenever the body is parsed, which happens first in CSRF protection, before the view (and
    so before any decorator body) runs; that is why this only marks the view. Use it as

        @bp.route("/imports/new", methods=["GET", "POST"])
        @role_required(is_staff)
        @allow_large_body("IMPORT_MAX_UPLOAD_BYTES")
        def new_import(): ...

    The larger limit applies to multipart/form-data from a signed-in browser only: an
    anonymous or url-encoded body of that size is never read.
    """

    def decorator(view):
        setattr(view, LARGE_BODY_ATTRIBUTE, config_key)
        return view

    return decorator


class CampaignRequest(Request):
    """Flask's request, with a body limit raised for views marked by allow_large_body."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.url_rule is not None:
            view = current_app.view_functions.get(self.url_rule.endpoint)
            config_key = getattr(view, LARGE_BODY_ATTRIBUTE, None)
            if config_key and self.mimetype == "multipart/form-data" and has_signed_in_cookie():
                return int(current_app.config[config_key])
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
