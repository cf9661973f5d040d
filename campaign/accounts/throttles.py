"""Which of the accounts' views are throttled, whom each limit counts, and what the pause says.

The doors a password guesser or a mail bomber knocks on are all here: sign-in, the second
factor, sign-up, password reset, invitation and confirmation links. Keys hold no email
address: an account is an HMAC of its normalised email under the app's secret key, so an
unknown address counts exactly like a known one. The mechanism is web/throttle.py.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from campaign.accounts.models import normalize_email
from campaign.accounts.sessions import pending_account_key
from campaign.web.throttle import Throttle, client_address, refused


def account_key(email: str) -> str:
    """The same key for every spelling of one address, and no address in the store."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, normalize_email(email).encode(), hashlib.sha256)
    return "account:" + digest.hexdigest()[:32]


def account_in_form() -> str:
    """The account a form names; empty (not counted) when there is none."""
    try:
        email = request.form.get("email", "")
    except HTTPException:  # an oversized body: the view answers it, not the limiter
        return ""
    return account_key(email) if email.strip() else ""


def signed_in_account() -> str:
    return account_key(current_user.email) if current_user.is_authenticated else ""


THROTTLES = (
    Throttle("accounts.login", "RATELIMIT_LOGIN_PER_ACCOUNT", account_in_form, "password", refused),
    Throttle(
        "accounts.change_password",
        "RATELIMIT_LOGIN_PER_ACCOUNT",
        signed_in_account,
        "password",
        refused,
    ),
    Throttle("accounts.login", "RATELIMIT_LOGIN_PER_ADDRESS", client_address, "login", refused),
    # A wrong second-factor code counts like a wrong password, for the account and the client.
    Throttle(
        "second_factor.verify",
        "RATELIMIT_LOGIN_PER_ACCOUNT",
        pending_account_key,
        "password",
        refused,
    ),
    Throttle(
        "second_factor.verify", "RATELIMIT_LOGIN_PER_ADDRESS", client_address, "login", refused
    ),
    Throttle(
        "second_factor.enrol",
        "RATELIMIT_LOGIN_PER_ACCOUNT",
        signed_in_account,
        "password",
        refused,
    ),
    Throttle("accounts.signup", "RATELIMIT_SIGNUP_PER_ADDRESS", client_address, "signup", None),
    Throttle("password.forgot", "RATELIMIT_RESET_PER_ACCOUNT", account_in_form, "reset", None),
    Throttle("password.forgot", "RATELIMIT_RESET_PER_ADDRESS", client_address, "reset", None),
    Throttle(
        "password.reset",
        "RATELIMIT_RESET_LINK_PER_ADDRESS",
        client_address,
        "reset-link",
        refused,
        methods=("GET", "POST"),
    ),
    # Invitations are the same kind of signed link; refused ones share the reset-link count.
    Throttle(
        "password.claim",
        "RATELIMIT_RESET_LINK_PER_ADDRESS",
        client_address,
        "reset-link",
        refused,
        methods=("GET", "POST"),
    ),
    # So are email confirmation links; asking for a new one mails like a reset link does.
    Throttle(
        "confirmation.confirm",
        "RATELIMIT_RESET_LINK_PER_ADDRESS",
        client_address,
        "reset-link",
        refused,
        methods=("GET", "POST"),
    ),
    Throttle(
        "confirmation.resend", "RATELIMIT_RESET_PER_ACCOUNT", account_in_form, "confirm", None
    ),
    Throttle("confirmation.resend", "RATELIMIT_RESET_PER_ADDRESS", client_address, "confirm", None),
)

# What the 429 page says, per view.
PAUSED = {
    "accounts.login": "There have been too many unsuccessful attempts to sign in.",
    "accounts.change_password": "There have been too many unsuccessful attempts to sign in.",
    "second_factor.verify": "There have been too many unsuccessful attempts to sign in.",
    "second_factor.enrol": "There have been too many wrong codes.",
    "accounts.signup": "There have been too many sign-up attempts from your network.",
    "password.forgot": "There have been too many requests for a password reset link.",
    "password.reset": "There have been too many attempts with password reset links.",
    "password.claim": "There have been too many attempts with invitation links.",
    "confirmation.confirm": "There have been too many attempts with confirmation links.",
    "confirmation.resend": "There have been too many requests for a confirmation link.",
}
