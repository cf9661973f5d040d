"""Sign-up by email confirmation: only someone who reads the address can use the account.

Sign-up answers the same whether the address is new or already has an account, and mails
either a confirmation link (a new account) or a note that the address already has one; the
person is not signed in, because a session only new accounts got would tell them apart.
Until the link is opened, the account cannot commit (commitments/operations.py); after
that, staff still verify that a self-registered official is real before their commitments
count or name them outside staff (followup/verification.py).

The link is the reset token's kind (accounts/reset.py: signed, timestamped, bound to the
password hash and email) under its own salt and `EMAIL_CONFIRMATION_MAX_AGE`; it works once,
since a confirmed address refuses it. Functions flush and never commit; views commit, then
mail with `campaign.mail.send_after_response`.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from campaign.accounts.models import AccountOrigin, User
from campaign.accounts.operations import (
    check_password_rules,
    find_user_by_email,
    mark_email_confirmed,
    new_account,
)
from campaign.accounts.operations import creation_audit as account_audit
from campaign.accounts.reset import ResetTokenError, _fingerprint, _serializer, user_for_reset_token
from campaign.accounts.roles import Role
from campaign.audit.operations import record
from campaign.extensions import db
from campaign.mail import public_link, send_after_response
from campaign.places.models import Jurisdiction
from campaign.security import hash_password

SALT = "campaign.accounts.email-confirmation"


@dataclass(frozen=True)
class Mail:
    """A message prepared inside the transaction, sent after the response."""

    to: str
    subject: str
    body: str
    about: str

    def send_after_response(self) -> None:
        send_after_response(self.to, self.subject, self.body, about=self.about)


@dataclass(frozen=True)
class SignUp:
    """What a sign-up did: `created` is None when the address already had an account (then
    the caller rolls back whatever else the form added, such as a new school district)."""

    created: User | None
    mail: Mail


def sign_up(
    *, email: str, name: str, password: str, office_title: str, jurisdiction: Jurisdiction
) -> SignUp:
    """An unconfirmed, unverified official, or none if the address is taken; either way the
    password is hashed, so both take as long."""
    check_password_rules(password)
    password_hash = hash_password(password)
    existing = find_user_by_email(email)
    if existing is not None:
        return SignUp(None, _already_registered_mail(existing))
    user = new_account(
        email=email,
        name=name,
        password_hash=password_hash,
        role=Role.OFFICIAL,
        office_title=office_title,
        jurisdiction=jurisdiction,
        origin=AccountOrigin.SIGNUP,
    )
    db.session.flush()
    record(user, "user.created", user, *account_audit(user))
    return SignUp(user, confirmation_mail(user))


def make_confirmation_token(user: User) -> str:
    return _serializer(SALT).dumps([user.id, _fingerprint(user)])


def user_for_confirmation(token: str, *, lock: bool = False) -> User:
    """The account this link confirms; `ResetTokenError` (reason "expired", "used" or
    "invalid") when it cannot, with a message for the person who followed it."""
    max_age = int(current_app.config["EMAIL_CONFIRMATION_MAX_AGE"])
    try:
        user = user_for_reset_token(token, lock=lock, salt=SALT, max_age=max_age)
    except ResetTokenError as error:
        raise ResetTokenError(
            {
                "expired": "This confirmation link has expired.",
                "used": "This confirmation link is no longer valid.",
            }.get(error.reason, "This confirmation link is not valid."),
            error.reason,
        ) from error
    if user.email_confirmed:
        raise ResetTokenError("This confirmation link has already been used.", "used")
    return user


def confirm_email(token: str) -> User:
    """Mark the address confirmed from a valid link; the link dies with it."""
    user = user_for_confirmation(token, lock=True)
    mark_email_confirmed(user, how="confirmation link")
    return user


def resend_confirmation(email: str) -> Mail | None:
    """A fresh link for an account still waiting to be confirmed, or None; callers say the
    same either way."""
    user = find_user_by_email(email)
    if user is None or not user.active or not user.awaiting_email_confirmation:
        return None
    return confirmation_mail(user)


def confirmation_mail(user: User) -> Mail:
    link = public_link("confirmation.confirm", token=make_confirmation_token(user))
    days = int(current_app.config["EMAIL_CONFIRMATION_MAX_AGE"]) // 86400
    campaign_name = current_app.config["CAMPAIGN_NAME"]
    body = (
        f"Hello {user.name},\n\n"
        f"Thank you for signing up to {campaign_name}. To confirm this is your email "
        f"address, open this link within {days} days:\n\n"
        f"{link}\n\n"
        "Until you do, your account cannot make commitments. The link works once.\n\n"
        "After that, campaign staff check that you hold the office you gave; until they do, "
        "your commitments are not counted or published.\n\n"
        "If you did not sign up, ignore this email: nothing happens without the link.\n"
    )
    return Mail(
        user.email,
        f"Confirm your email for {campaign_name}",
        body,
        f"Confirmation email for user {user.id}",
    )


def _already_registered_mail(user: User) -> Mail:
    campaign_name = current_app.config["CAMPAIGN_NAME"]
    body = (
        f"Hello,\n\n"
        f"Someone, perhaps you, tried to sign up to {campaign_name} with this email "
        "address. You already have an account: sign in, or reset your password if you "
        "have forgotten it.\n\n"
        f"Sign in: {public_link('accounts.login')}\n"
        f"Reset your password: {public_link('password.forgot')}\n\n"
        "If it was not you, ignore this email: nothing has changed.\n"
    )
    return Mail(
        user.email,
        f"You already have a {campaign_name} account",
        body,
        f"Already-registered email for user {user.id}",
    )
