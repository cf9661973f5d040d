"""Password reset by emailed link; also how imported accounts with no password are claimed.

A token is the user's id plus a fingerprint of their current password hash and email address,
signed with the app's SECRET_KEY and timestamped. Setting a password changes the hash (argon2
salts every hash afresh), so a link works once; it also stops working after
`PASSWORD_RESET_MAX_AGE` seconds, and for an address the account no longer has. Nothing is
stored in the database. Functions flush and never commit; the view commits, then sends the mail.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app
from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import lazyload

from campaign.accounts.models import User
from campaign.accounts.operations import find_user_by_email, mark_email_confirmed, set_password
from campaign.extensions import db
from campaign.mail import public_link, send_after_response
from campaign.timeutil import utcnow

SALT = "campaign.accounts.password-reset"


class ResetTokenError(ValueError):
    """The link cannot be used. `reason` is "expired", "used" or "invalid" (tampered, garbled)."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def _serializer(salt: str = SALT) -> URLSafeTimedSerializer:
    config = current_app.config
    # Oldest first, current key last: links sent before a key rotation keep working.
    keys = [*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=salt)


def _fingerprint(user: User) -> str:
    state = f"{user.password_hash or ''}\n{user.email_normalized}".encode()
    return hashlib.sha256(state).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    """A signed, timestamped link token that dies when the password (or the email) changes."""
    return _serializer().dumps([user.id, _fingerprint(user)])


def user_for_reset_token(
    token: str, *, lock: bool = False, salt: str = SALT, max_age: int | None = None
) -> User:
    """The active user this token was made for, or `ResetTokenError` saying why not.

    With `lock`, the row is read FOR UPDATE (PostgreSQL), so two requests racing with one link
    cannot both set a password: the second sees the first one's new fingerprint. `salt` and
    `max_age` tell invitation links (campaign/accounts/invitations.py) from reset links.
    """
    if max_age is None:
        max_age = int(current_app.config["PASSWORD_RESET_MAX_AGE"])
    try:
        user_id, fingerprint = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise ResetTokenError("This reset link has expired.", "expired") from error
    except (BadData, TypeError, ValueError) as error:
        raise ResetTokenError("This reset link is not valid.", "invalid") from error
    user = None
    if isinstance(user_id, int) and 0 < user_id < 2**31:
        stmt = select(User).where(User.id == user_id)
        if lock:
            # Lock the user row only: PostgreSQL refuses FOR UPDATE across the outer join
            # that loads the user's jurisdiction.
            stmt = (
                stmt.options(lazyload(User.jurisdiction))
                .with_for_update(of=User)
                .execution_options(populate_existing=True)
            )
        user = db.session.scalar(stmt)
    if (
        user is None
        or not user.active
        or not isinstance(fingerprint, str)
        or not hmac.compare_digest(fingerprint, _fingerprint(user))
    ):
        # Used already, superseded by a newer password, or the account is gone or closed.
        raise ResetTokenError(
            "This reset link has already been used or is no longer valid.", "used"
        )
    return user


def request_password_reset(email: str) -> tuple[User, str] | None:
    """The active account for this email and a fresh token, or None; callers reveal neither."""
    user = find_user_by_email(email)
    if user is None or not user.active:
        return None
    return user, make_reset_token(user)


def reset_password(token: str, password: str) -> User:
    """Set a new password from a valid token and sign out every session of the account."""
    user = user_for_reset_token(token, lock=True)
    set_password(user, password)  # raises AccountError for a password that breaks the rules
    user.last_login_at = utcnow()
    mark_email_confirmed(user, how="password reset link")  # the link proves they read it
    db.session.flush()
    return user


def send_reset_email(user: User, token: str) -> None:
    """Email the link once the response has gone out, so a known address answers as fast
    as an unknown one; a failure is logged, never shown (it would say the address is known)."""
    link = public_link("password.reset", token=token)
    minutes = int(current_app.config["PASSWORD_RESET_MAX_AGE"]) // 60
    campaign_name = current_app.config["CAMPAIGN_NAME"]
    body = (
        f"Hello {user.name},\n\n"
        f"Someone asked to set a new password for your {campaign_name} account.\n"
        f"To choose one, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not ask for this, ignore this email: "
        "your password stays as it is.\n"
    )
    send_after_response(
        user.email,
        f"Set your {campaign_name} password",
        body,
        about=f"Password reset email for user {user.id}",
    )
