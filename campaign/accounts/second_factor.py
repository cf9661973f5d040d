"""A second factor: a code from an authenticator app (TOTP), asked for after the password.

Staff and admins can read every official's contact details, so in production they must
enrol (REQUIRE_STAFF_SECOND_FACTOR); anyone may. Enrolment shows a QR code drawn here as
inline SVG (no image service sees the secret) and its key as text, and is confirmed with
one code; then ten single-use recovery codes are shown once and only their hashes kept.

Sign-in is two steps: the password step leaves a pending sign-in in the browser's signed
session (accounts/sessions.py: no session row, nobody signed in), and the code step turns it
into a sign-in. A code is accepted once (its time step is kept), one step early or late for
clock drift. An admin resets a lost factor: audited, and the person is signed out everywhere.
Every way in (password, reset link) goes through `begin_sign_in`, so none skips the code.
Functions add and flush; the view commits.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

import pyotp
import segno
from flask import current_app, session
from sqlalchemy import delete, func, select

from campaign.accounts.models import RecoveryCode, SecondFactor, User
from campaign.accounts.roles import must_use_second_factor
from campaign.accounts.sessions import (
    renew_browser_session,
    revoke_sessions,
    sign_in,
    start_pending_sign_in,
)
from campaign.accounts.throttles import account_key
from campaign.audit.operations import record
from campaign.extensions import db
from campaign.timeutil import utcnow

RECOVERY_CODE_COUNT = 10
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
RECOVERY_CODE_LENGTH = 16  # 31**16 is about 2**79
STEP_SECONDS = 30
ENROLMENT_KEY = "second_factor_enrolment"


class SecondFactorError(ValueError):
    """A code refused, or a change the rules do not allow; the message is for the person."""

    def __init__(self, message: str, field: str | None = "code"):
        super().__init__(message)
        self.field = field


WRONG_CODE = (
    "That code is not right. Enter the 6-digit code your authenticator app shows now, "
    "or one of your recovery codes."
)


def factor_of(user: User) -> SecondFactor | None:
    return db.session.get(SecondFactor, user.id)


def has_second_factor(user: User) -> bool:
    return factor_of(user) is not None


def is_required(user: User) -> bool:
    """Whether this signed-in user must enrol before using the app (production staff)."""
    return bool(current_app.config["REQUIRE_STAFF_SECOND_FACTOR"]) and must_use_second_factor(user)


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    )


# Enrolment -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the key as text and the same key as a QR code."""

    secret: str
    uri: str

    @property
    def grouped_secret(self) -> str:
        """The key in groups of four, as people type it into an app."""
        return " ".join(self.secret[i : i + 4] for i in range(0, len(self.secret), 4))

    @property
    def qr_svg(self) -> str:
        """The otpauth URI as an inline SVG QR code: dark on light, sized for a phone camera."""
        return segno.make(self.uri, error="m").svg_inline(
            scale=5, border=4, dark="#000", light="#fff", title="QR code of your key"
        )


def pending_enrolment(user: User) -> Enrolment:
    """The key being enrolled, kept in the browser's session until a code confirms it; a
    new one the first time. A GET of the enrolment page therefore writes no row."""
    secret = session.get(ENROLMENT_KEY)
    if not isinstance(secret, str) or not re.fullmatch(r"[A-Z2-7]{32}", secret):
        secret = pyotp.random_base32()
        session[ENROLMENT_KEY] = secret
    uri = pyotp.TOTP(secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["CAMPAIGN_NAME"]
    )
    return Enrolment(secret, uri)


def confirm_enrolment(user: User, code: str) -> list[str]:
    """Turn the pending key on once a code from it is right; returns the ten recovery codes
    in plain text, the only time they exist outside the person's hands."""
    if factor_of(user) is not None:
        raise SecondFactorError(
            "Your account already has a second factor. Ask an admin to reset it first."
        )
    enrolment = pending_enrolment(user)
    step = _matching_step(enrolment.secret, code, after=None)
    if step is None:
        raise SecondFactorError(
            "That code is not right. Enter the 6-digit code your app shows for this key now."
        )
    db.session.add(SecondFactor(user_id=user.id, secret=enrolment.secret, last_used_step=step))
    codes = _replace_recovery_codes(user)
    # A session opened with the password alone (perhaps a phished one) ends here.
    revoke_sessions(user, keep=user.current_session)
    record(user, "user.second_factor_enrolled", user, f"Second factor turned on for {user.name}")
    db.session.flush()
    session.pop(ENROLMENT_KEY, None)
    return codes


def _replace_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(c)) for c in codes)
    return [format_recovery_code(c) for c in codes]


def format_recovery_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def _normalized(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def _hash_code(code: str) -> str:
    return hashlib.sha256(_normalized(code).encode()).hexdigest()


# Checking a code --------------------------------------------------------------------------


def _matching_step(secret: str, code: str, *, after: int | None) -> int | None:
    """The time step (now, or one either side) whose code this is, if later than `after`."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = int(time.time()) // STEP_SECONDS
    for step in (now, now - 1, now + 1):
        if after is not None and step <= after:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def check_code(user: User, code: str) -> str:
    """Accept an authenticator code or an unused recovery code for `user`, or raise.

    Returns "app" or "recovery". A recovery code is spent (and audited); an app code's step
    is kept so the same code cannot be used again.
    """
    factor = factor_of(user)
    if factor is None:
        raise SecondFactorError(WRONG_CODE)
    step = _matching_step(factor.secret, code, after=factor.last_used_step)
    if step is not None:
        factor.last_used_step = step
        db.session.flush()
        return "app"
    spare = db.session.scalar(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
    )
    if spare is None:
        raise SecondFactorError(WRONG_CODE)
    spare.used_at = utcnow()
    left = recovery_codes_left(user)
    record(
        user,
        "user.recovery_code_used",
        user,
        f"{user.name} signed in with a recovery code ({left} left)",
    )
    db.session.flush()
    return "recovery"


# Signing in ------------------------------------------------------------------------------


def begin_sign_in(user: User, *, remember: bool = False) -> bool:
    """After a right password (or a new one from a reset link): sign in, or, when the
    account has a second factor, leave a pending sign-in for the code step. True when
    signed in. Every way in goes through here, so none skips the code. The view commits."""
    if factor_of(user) is None:
        sign_in(user, remember=remember)
        return True
    renew_browser_session()
    start_pending_sign_in(user, remember=remember, account_key=account_key(user.email))
    return False


# Administration ---------------------------------------------------------------------------


def reset_second_factor(user: User, actor: User) -> None:
    """An admin removes a lost factor: the person signs in with the password alone once
    and (if required) enrols again. Every session of theirs ends; the audit keeps who."""
    if user.id == actor.id:
        raise SecondFactorError(
            "You cannot reset your own second factor: ask another admin, or sign in with a "
            "recovery code.",
            field=None,
        )
    factor = factor_of(user)
    if factor is None:
        raise SecondFactorError(f"{user.name} has no second factor to reset.", field=None)
    db.session.delete(factor)
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    revoke_sessions(user)
    record(actor, "user.second_factor_reset", user, f"Second factor of {user.name} reset")
    db.session.flush()
