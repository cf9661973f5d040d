"""Invitations: how an official whose account came from an import claims it.

Imported accounts have no password. Staff send an invitation; its link lets the owner choose a
password, which signs them in. The token is the reset token's kind (signed, timestamped, bound
to the password hash and email, so it works once) under its own salt and a longer
life (`INVITATION_MAX_AGE`), so a reset link can never be replayed as an invitation or back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select

from campaign.accounts.models import User
from campaign.accounts.operations import mark_email_confirmed, set_password
from campaign.accounts.reset import (
    ResetTokenError,
    _fingerprint,
    _serializer,
    user_for_reset_token,
)
from campaign.accounts.roles import is_official_account
from campaign.audit.operations import record
from campaign.extensions import db
from campaign.mail import MailError, public_link, send_mail
from campaign.timeutil import utcnow

SALT = "campaign.accounts.invitation"


def make_invitation_token(user: User) -> str:
    return _serializer(SALT).dumps([user.id, _fingerprint(user)])


def user_for_invitation(token: str, *, lock: bool = False) -> User:
    """The account the invitation is for; `ResetTokenError` if expired, used or garbled."""
    max_age = int(current_app.config["INVITATION_MAX_AGE"])
    user = user_for_reset_token(token, lock=lock, salt=SALT, max_age=max_age)
    if not unclaimed([user]):  # made staff, or claimed, since the link was sent
        raise ResetTokenError("This invitation is no longer valid.", "used")
    return user


def claim_account(token: str, password: str) -> User:
    """Set the first password from an invitation; the link dies with it. Claiming confirms
    the address (the link came to it) and the official (staff sent the invitation)."""
    user = user_for_invitation(token, lock=True)
    set_password(user, password)
    user.last_login_at = utcnow()
    mark_email_confirmed(user, how="invitation link")
    if user.verified_at is None:
        user.verified_at = utcnow()
    record(user, "user.claimed", user, f"{user.name} claimed their account")
    db.session.flush()
    return user


def unclaimed(users: list[User]) -> list[User]:
    """The officials among `users` who could still be invited: active, with no password."""
    return [u for u in users if is_official_account(u) and u.active and not u.password_hash]


def unclaimed_by_ids(ids: set[int]) -> list[User]:
    if not ids:
        return []
    stmt = select(User).where(User.id.in_(sorted(ids))).order_by(User.name)
    return unclaimed(list(db.session.scalars(stmt)))


@dataclass(frozen=True)
class Invitation:
    """An invitation email, prepared while reading, sent after the transaction has ended."""

    user_id: int
    to: str
    subject: str
    body: str


def prepare_invitation(user: User) -> Invitation:
    token = make_invitation_token(user)
    link = public_link("password.claim", token=token)
    days = int(current_app.config["INVITATION_MAX_AGE"]) // 86400
    campaign_name = current_app.config["CAMPAIGN_NAME"]
    body = (
        f"Hello {user.name},\n\n"
        f"The {campaign_name} campaign has recorded your commitments from your emails with "
        "our helpdesk. You can now see them, report progress and choose what is published "
        "on the campaign's site.\n\n"
        f"To sign in, choose a password with this link within {days} days:\n\n"
        f"{link}\n\n"
        "The link works once. If you did not expect this email, you can ignore it.\n"
    )
    return Invitation(user.id, user.email, f"Your {campaign_name} account is ready", body)


def send_invitations(
    users: list[User], actor: User, *, save: Callable[[], None]
) -> tuple[int, int]:
    """Email each user their link; (sent, failed), with one audit entry per email sent.

    No transaction may be open while the mail server answers (on SQLite it would hold the
    write lock), so the emails are prepared first, and `save` ends the transaction before
    the first email and after each one is recorded (the views pass `db.session.commit`).
    """
    invitations = [prepare_invitation(user) for user in users]
    actor_id = actor.id
    save()
    sent = failed = 0
    for invitation in invitations:
        try:
            send_mail(invitation.to, invitation.subject, invitation.body)
        except MailError:
            current_app.logger.exception("Invitation to user %s not sent", invitation.user_id)
            failed += 1
            continue
        user = db.session.get(User, invitation.user_id)
        record(
            db.session.get(User, actor_id),
            "user.invited",
            user,
            f"Invitation emailed to {invitation.to}",
        )
        save()
        sent += 1
    return sent, failed
