"""The people who use the app: officials, organizers, staff and admins."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from flask_login import UserMixin
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from campaign.accounts.roles import Role
from campaign.extensions import db, db_enum
from campaign.figures.revision import affects_figures
from campaign.timeutil import utcnow

if TYPE_CHECKING:
    from campaign.places.models import Jurisdiction


class AccountOrigin(enum.StrEnum):
    """How an account came to exist: what staff weigh when they verify an official."""

    SIGNUP = "signup"  # the person signed up alone
    IMPORT = "import"  # staff imported them from the helpdesk's spreadsheet
    MAILBOX = "mailbox"  # staff accepted their helpdesk email
    STAFF = "staff"  # created by staff or an admin (command line, admin pages)

    @property
    def label(self) -> str:
        return {
            "signup": "Signed up on the site",
            "import": "Imported by staff from a spreadsheet",
            "mailbox": "Recorded by staff from a helpdesk email",
            "staff": "Created by staff",
        }[self.value]


class User(UserMixin, db.Model):
    __tablename__ = "user"
    # A new account adds; signing in, a new password or a confirmed address changes no
    # figure. Any other change (a name, a verification) may take a name away: at once.
    __table_args__ = affects_figures(
        new_rows="add", unread={"last_login_at", "password_hash", "email_confirmed_at"}
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254))
    # Lower-cased copy with a unique index: "Ana@X.org" and "ana@x.org" are one account.
    email_normalized: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        db_enum(Role, "role"),
        default=Role.OFFICIAL,
    )
    office_title: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    jurisdiction_id: Mapped[int | None] = mapped_column(
        ForeignKey("jurisdiction.id", ondelete="SET NULL"), index=True
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Only real officials are named: an address is confirmed by a link mailed to it, and an
    # official who signed up alone is verified by staff before any commitment of theirs
    # counts or names them outside staff (commitments/visibility.py). Staff recording an
    # official (import, mailbox, phone) verifies them by that act. NULL: not yet.
    email_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    verified_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL", name="fk_user_verified_by_id_user")
    )
    origin: Mapped[AccountOrigin | None] = mapped_column(db_enum(AccountOrigin, "origin"))

    jurisdiction: Mapped[Jurisdiction | None] = relationship(lazy="joined")
    verified_by: Mapped[User | None] = relationship(remote_side=[id], lazy="raise")

    # The sign-in this request runs under, set by accounts/sessions.py: plain attributes, not
    # columns (a UserSession and its raw token, which exists only in the cookie).
    current_session = None
    session_token = None

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def email_confirmed(self) -> bool:
        """The owner opened a link mailed to this address (or was invited, or reset by mail)."""
        return self.email_confirmed_at is not None

    @property
    def awaiting_email_confirmation(self) -> bool:
        """A sign-up whose owner has not opened the link mailed to it yet: it cannot commit.
        Accounts staff made were vouched for; imported ones confirm by claiming."""
        return self.origin == AccountOrigin.SIGNUP and not self.email_confirmed

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login and load
        return self.active

    def get_id(self) -> str:
        """What Flask-Login keeps in the session and remember cookies: the sign-in's token.

        Never the user id, so a cookie names one revocable sign-in, not the account.
        """
        if not self.session_token:
            raise RuntimeError("Sign in through accounts.sessions.sign_in, not login_user.")
        return self.session_token

    # UserMixin compares users by get_id(); one person is one account however signed in.
    def __eq__(self, other: object) -> bool:
        if not isinstance(other, User):
            return NotImplemented
        return self is other or (self.id is not None and self.id == other.id)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = UserMixin.__hash__

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


def normalize_email(email: str) -> str:
    return email.strip().lower()


class UserSession(db.Model):
    """One signed-in browser. Signing out, or revoking it from the account page, deletes it.

    The cookie holds a random token; only its SHA-256 is stored, so a copy of the database
    cannot be replayed as a cookie. No IP address is kept; the browser is a short description.
    """

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    browser: Mapped[str] = mapped_column(String(80))

    user: Mapped[User] = relationship(lazy="raise")

    def __repr__(self) -> str:
        return f"<UserSession {self.id} of user {self.user_id}>"


class SecondFactor(db.Model):
    """A user's authenticator app (TOTP, RFC 6238), asked for after the password.

    Required of staff and admins in production (REQUIRE_STAFF_SECOND_FACTOR): they read
    every contact detail, so a phished password alone must not open the account. The row
    exists once enrolment is confirmed with a code; an admin's reset deletes it.
    The secret must be readable to check codes, so it is stored as is (backups hold it:
    keep them encrypted, as the README says).
    """

    __tablename__ = "second_factor"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    secret: Mapped[str] = mapped_column(String(64))
    confirmed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The 30-second step of the last accepted code: a code seen once (shoulder-surfed, or
    # replayed by a phishing proxy) is refused the second time.
    last_used_step: Mapped[int | None] = mapped_column(Integer)

    def __repr__(self) -> str:
        return f"<SecondFactor of user {self.user_id}>"


class RecoveryCode(db.Model):
    """One of ten single-use codes shown once at enrolment, for a lost phone.

    Only the SHA-256 of the code is kept; the codes are random (about 79 bits each), so the
    hash cannot be reversed by guessing. `used_at` set: spent.
    """

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"<RecoveryCode {self.id} of user {self.user_id}>"
