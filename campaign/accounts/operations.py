"""Creating accounts and checking credentials. Functions add and flush; callers commit."""

from __future__ import annotations

from collections.abc import Callable

from flask import abort
from sqlalchemy import select

from campaign.accounts.models import AccountOrigin, User, UserSession, normalize_email
from campaign.accounts.roles import Role, is_official_account
from campaign.accounts.sessions import revoke_sessions
from campaign.audit.operations import changes_between, record
from campaign.extensions import db
from campaign.places.models import Jurisdiction
from campaign.security import hash_password, verify_password
from campaign.timeutil import utcnow

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 256


class AccountError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email_normalized == normalize_email(email)))


def official_or_404(official_id: int) -> User:
    """The official's account a staff page is about, active or deactivated; else 404."""
    person = db.session.get(User, official_id)
    if not is_official_account(person):
        abort(404)
    return person


def official_problem(user: User, jurisdiction: Jurisdiction) -> str | None:
    """Why staff cannot record for this account in this jurisdiction; None when they can.

    The one check of imports, mail triage and staff entries (a dry run asks it too).
    """
    if not is_official_account(user):
        return f"{user.email} belongs to a {user.role.label.lower()} account"
    if not user.active:
        return f"the account of {user.email} is deactivated"
    serves = user.jurisdiction
    if serves is not None and serves.id != jurisdiction.id:
        return (
            f"{user.name} serves {serves.label} in the app, not {jurisdiction.label}: "
            "correct the jurisdiction, or the official's account first"
        )
    return None


def official_for(
    *,
    email: str,
    name: str,
    jurisdiction: Jurisdiction,
    origin: AccountOrigin,
    actor: User | None,
    office_title: str | None = None,
    phone: str | None = None,
    known: dict[str, User] | None = None,
    audits: list | None = None,
) -> User:
    """The official staff record for: found by email, else created (verified by that act).

    `AccountError` when the account is not an official's, is deactivated, or serves another
    jurisdiction (`official_problem`); an account with no place yet is given this one.
    Imports pass `known` ({normalized email: user}, filled as accounts are made) and
    `audits`, as for `commitments.operations.record_on_behalf`, so nothing flushes per row.
    """
    key = normalize_email(email)
    user = known.get(key) if known is not None else find_user_by_email(email)
    if user is None:
        if not name:
            raise AccountError(f"No name for {email}, who has no account yet.", field="name")
        user = new_account(
            email=email,
            name=name,
            password_hash=None,
            role=Role.OFFICIAL,
            office_title=office_title,
            jurisdiction=jurisdiction,
            origin=origin,
            verified_by=actor,
        )
        user.phone = (phone or "").strip() or None
        if known is not None:
            known[key] = user
        entry = ("user.created", user, *creation_audit(user))
        if audits is not None:
            audits.append(entry)
        else:
            db.session.flush()
            record(actor, *entry)
        return user
    problem = official_problem(user, jurisdiction)
    if problem:
        raise AccountError(problem[:1].upper() + problem[1:] + ".", field="email")
    if user.jurisdiction is None:
        user.jurisdiction = jurisdiction
    if not user.is_verified and actor is not None:
        # Staff recording for someone who signed up alone vouch for them, as on the
        # verification page: what they committed to now counts and may be named.
        user.verified_at = utcnow()
        user.verified_by = actor
        entry = (
            "user.verified",
            user,
            f"{user.name} verified by staff recording for them ({origin.label.lower()})",
            {"verified": [False, True]},
        )
        if audits is not None:
            audits.append(entry)
        else:
            record(actor, *entry)
    return user


def create_user(
    *,
    email: str,
    name: str,
    password: str | None,
    role: Role = Role.OFFICIAL,
    office_title: str | None = None,
    jurisdiction: Jurisdiction | None = None,
    actor: User | None = None,
    origin: AccountOrigin = AccountOrigin.STAFF,
) -> User:
    """A new account; emails are unique whatever their case."""
    email = email.strip()
    if find_user_by_email(email) is not None:
        raise AccountError("An account with this email already exists.", field="email")
    if password is not None:
        check_password_rules(password)
    user = new_account(
        email=email,
        name=name,
        password_hash=hash_password(password) if password else None,
        role=role,
        office_title=office_title,
        jurisdiction=jurisdiction,
        origin=origin,
        verified_by=actor,
    )
    db.session.flush()
    record(
        actor or (user if role == Role.OFFICIAL else None),
        "user.created",
        user,
        *creation_audit(user),
    )
    return user


def new_account(
    *,
    email: str,
    name: str,
    password_hash: str | None,
    role: Role,
    office_title: str | None,
    jurisdiction: Jurisdiction | None,
    origin: AccountOrigin,
    verified_by: User | None = None,
) -> User:
    """The account row, added unflushed; callers have checked the email is free.

    Imports call this directly for thousands of officials at once (see create_user). An
    account staff create is verified by that act; one made by signing up is verified
    when staff confirm the official is real.
    """
    now = utcnow()
    verified = origin != AccountOrigin.SIGNUP
    user = User(
        email=email.strip(),
        email_normalized=normalize_email(email),
        name=name.strip(),
        password_hash=password_hash,
        role=role,
        active=True,  # set now, not at flush: a bulk import asks before flushing
        office_title=(office_title or "").strip() or None,
        jurisdiction=jurisdiction,
        origin=origin,
        verified_at=now if verified else None,
        verified_by=verified_by if verified else None,
    )
    db.session.add(user)
    return user


def creation_audit(user: User) -> tuple[str, dict[str, list]]:
    return (
        f"Account created for {user.name} ({user.role.value})",
        {"role": [None, user.role.value], "email": [None, user.email]},
    )


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            f"Use at least {MIN_PASSWORD_LENGTH} characters for your password.", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            f"Use at most {MAX_PASSWORD_LENGTH} characters for your password.", field="password"
        )


def authenticate(
    email: str, password: str, *, before_hashing: Callable[[], None] = lambda: None
) -> User | None:
    """The user for these credentials, or None; unknown email and wrong password look alike.

    `before_hashing` runs between reading the account and checking the password, which is
    deliberately slow (argon2): the sign-in view ends its transaction there
    (`database.sqlite.end_transaction_before_slow_work`), so no lock is held meanwhile.
    """
    user = find_user_by_email(email)
    stored_hash = user.password_hash if user else None
    before_hashing()
    if not verify_password(stored_hash, password):
        return None
    if not user.active:
        return None
    user.last_login_at = utcnow()
    return user


class WrongPassword(AccountError):
    """The current password given to confirm a change is not the account's."""


def change_password(user: User, current: str, new: str) -> None:
    """The signed-in user's own change: proves the current password, keeps this browser."""
    if not verify_password(user.password_hash, current):
        raise WrongPassword("That is not your current password.", field="current_password")
    set_password(user, new, keep=user.current_session)


def set_password(user: User, password: str, *, keep: UserSession | None = None) -> None:
    """Change the password and sign out every session but `keep` (none after a reset)."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    revoke_sessions(user, keep=keep)
    record(user, "user.password_changed", user, f"Password changed for {user.name}")
    db.session.flush()


def mark_email_confirmed(user: User, *, how: str) -> None:
    """The owner has shown they read this address (a confirmation, invitation or reset link)."""
    if user.email_confirmed:
        return
    user.email_confirmed_at = utcnow()
    record(user, "user.email_confirmed", user, f"{user.name} confirmed their email ({how})")
    db.session.flush()


def update_profile(
    user: User, *, name: str, office_title: str, phone: str | None, actor: User | None = None
) -> None:
    fields = ("name", "office_title", "phone")
    before = {f: getattr(user, f) for f in fields}
    user.name = name.strip()
    user.office_title = office_title.strip() or None
    user.phone = (phone or "").strip() or None
    changes = changes_between(before, {f: getattr(user, f) for f in fields})
    if changes:
        record(actor or user, "user.updated", user, f"Profile of {user.name} updated", changes)
    db.session.flush()


def change_role(user: User, role: Role, actor: User) -> None:
    """Admins change roles; nobody can change their own, so an admin cannot lock everyone out."""
    if user.id == actor.id:
        raise AccountError("You cannot change your own role.", field="role")
    if user.role == role:
        return
    before = user.role
    user.role = role
    revoke_sessions(user)  # new powers (or fewer) start with a new sign-in
    record(
        actor,
        "user.role_changed",
        user,
        f"{user.name}: {before.value} → {role.value}",
        {"role": [before.value, role.value]},
    )
    db.session.flush()


def set_active(user: User, active: bool, actor: User) -> None:
    """Deactivating signs the account out everywhere and keeps its records."""
    if user.id == actor.id:
        raise AccountError("You cannot deactivate your own account.", field="active")
    if user.active == active:
        return
    user.active = active
    if not active:
        revoke_sessions(user)
    record(
        actor,
        "user.activated" if active else "user.deactivated",
        user,
        f"{user.name} {'reactivated' if active else 'deactivated'}",
        {"active": [not active, active]},
    )
    db.session.flush()
