"""Password hashing, safe redirects and the role decorator."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app
from flask_login import current_user


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
