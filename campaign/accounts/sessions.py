"""Server-side sign-in sessions: each signed-in browser is a `UserSession` row.

The cookie (Flask's session, and the "keep me signed in" cookie) carries a random token; the
row keeps only its SHA-256. Flask-Login's user loader resolves the token on every request, so
deleting the row is what signs a browser out: a copied cookie dies with it. Sign-out deletes
this browser's row; a password change deletes the others; a password reset, a role change and
deactivation delete them all. A session also ends `SESSION_ABSOLUTE_DAYS` after sign-in and
after `SESSION_IDLE_DAYS` unused.

"Last seen" is written at most every `SESSION_TOUCH_SECONDS` (in a short transaction of its
own for a page, in a submission's own transaction), so browsing costs no write per request
and a GET's own transaction stays read-only.
Functions that change rows flush and never commit; the view commits.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from datetime import datetime, timedelta

from flask import current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm.attributes import set_committed_value

from campaign.accounts.models import User, UserSession
from campaign.extensions import SAFE_METHODS, db
from campaign.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_TOKEN_LENGTH = 100

# First match wins: Edge and Opera also say "Chrome", and Chrome also says "Safari".
BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("FxiOS/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
)
SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


class SessionNotFound(LookupError):
    """No live session with that id belongs to this user."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def describe_browser(user_agent: str | None) -> str:
    """ "Firefox on Windows": enough to recognise a device in a list, never the full string."""
    agent = user_agent or ""
    browser = next((name for mark, name in BROWSERS if mark in agent), None)
    system = next((name for mark, name in SYSTEMS if mark in agent), None)
    if browser is None:
        product = re.match(r"[A-Za-z][\w.-]{0,30}", agent)
        browser = product.group(0) if product else "Unknown browser"
    return f"{browser} on {system}" if system else browser


def _limits() -> tuple[datetime, datetime]:
    """The oldest sign-in and the oldest last use a live session may have."""
    config = current_app.config
    now = utcnow()
    return (
        now - timedelta(days=config["SESSION_ABSOLUTE_DAYS"]),
        now - timedelta(days=config["SESSION_IDLE_DAYS"]),
    )


def _live():
    signed_in_after, seen_after = _limits()
    return (UserSession.created_at > signed_in_after) & (UserSession.last_seen_at > seen_after)


def start_session(user: User, user_agent: str | None) -> str:
    """Record a new sign-in for `user` and return its token, which only the cookie keeps."""
    signed_in_after, seen_after = _limits()
    db.session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id,
            or_(
                UserSession.created_at <= signed_in_after,
                UserSession.last_seen_at <= seen_after,
            ),
        )
    )
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=hash_token(token), user_id=user.id, browser=describe_browser(user_agent)
    )
    db.session.add(record)
    db.session.flush()
    user.current_session, user.session_token = record, token
    return token


def renew_browser_session() -> None:
    """Start the browser's Flask session afresh, and with it Flask-WTF's CSRF secret.

    Called at sign-in and sign-out, so nothing set on one side of the change works on the
    other: a form token captured before sign-in (or a session planted in the browser) is
    refused after it, and a signed-out browser keeps nothing of the account's session.
    """
    session.clear()
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)  # this request's


def sign_in(user: User, *, remember: bool = False) -> None:
    """Start a session for this browser and hand its token to Flask-Login; the view commits."""
    renew_browser_session()
    start_session(user, request.user_agent.string)
    login_user(user, remember=remember)


def sign_out(user: User) -> None:
    """This browser signs out: its session row goes and its Flask session starts afresh.

    The Flask session is renewed before Flask-Login's logout, which leaves the instruction
    to delete the "keep me signed in" cookie in it. `user` may be anonymous.
    """
    if user.is_authenticated:
        end_session(user)
    renew_browser_session()
    logout_user()


def load_user(token: str) -> User | None:
    """Flask-Login's user loader: the active user of a live session, else None (anonymous)."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    row = db.session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == hash_token(token), _live(), User.active.is_(True))
    ).first()
    if row is None:
        return None
    record, user = row
    now = utcnow()
    if now - record.last_seen_at >= timedelta(seconds=current_app.config["SESSION_TOUCH_SECONDS"]):
        _touch(record, now)
    user.current_session, user.session_token = record, token
    return user


def _touch(record: UserSession, now: datetime) -> None:
    """Move "last seen": in its own short transaction when the request only reads, so a
    failure costs only the update; in the request's own when it writes anyway (on SQLite a
    submission holds the write lock from its first query, so a second transaction would
    wait for it until the busy timeout). A submission that saves nothing drops the touch,
    and a later request makes it."""
    statement = update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
    if request.method not in SAFE_METHODS:
        db.session.execute(statement)
        set_committed_value(record, "last_seen_at", now)
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(statement)
    except SQLAlchemyError:
        log.warning("Could not record last use of session %s", record.id, exc_info=True)
        return
    set_committed_value(record, "last_seen_at", now)


def end_session(user: User) -> None:
    """Sign-out: this browser's session row goes, so its cookie no longer works anywhere."""
    if user.current_session is not None:
        db.session.execute(delete(UserSession).where(UserSession.id == user.current_session.id))
        user.current_session = None


def revoke_sessions(user: User, *, keep: UserSession | None = None) -> int:
    """End every session of `user`, except `keep` (the browser making the change)."""
    stmt = delete(UserSession).where(UserSession.user_id == user.id)
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    return db.session.execute(stmt).rowcount


def revoke_session(user: User, session_id: int) -> UserSession:
    """End one of `user`'s own sessions; another user's id is as unknown as a missing one."""
    record = db.session.scalar(
        select(UserSession).where(
            UserSession.id == session_id, UserSession.user_id == user.id, _live()
        )
    )
    if record is None:
        raise SessionNotFound(session_id)
    db.session.delete(record)
    db.session.flush()
    return record


def live_sessions(user: User) -> list[UserSession]:
    """The user's sessions that still work, most recently used first."""
    return list(
        db.session.scalars(
            select(UserSession)
            .where(UserSession.user_id == user.id, _live())
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        )
    )


def purge_expired_sessions() -> int:
    """Delete every expired session row (for cron; sign-in also tidies the user's own)."""
    signed_in_after, seen_after = _limits()
    return db.session.execute(
        delete(UserSession).where(
            or_(
                UserSession.created_at <= signed_in_after,
                UserSession.last_seen_at <= seen_after,
            )
        )
    ).rowcount


# A sign-in waiting for its second factor (accounts/second_factor.py): kept in the browser's
# signed Flask session, never a session row, so nobody is signed in until the code is right.
PENDING_KEY = "second_factor_pending"


def start_pending_sign_in(user: User, *, remember: bool, account_key: str) -> None:
    """After the right password: remember who is half signed in, for a few minutes.

    Kept in the signed session cookie; `account_key` lets the throttle count wrong codes
    per account like wrong passwords, without a query.
    """
    session[PENDING_KEY] = {
        "user": user.id,
        "remember": bool(remember),
        "since": int(time.time()),
        "account": account_key,
    }


def pending_sign_in() -> tuple[User, bool] | None:
    """The user (and their "keep me signed in" choice) whose password was right, if the
    pending sign-in is still fresh and the account active."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    age = time.time() - float(pending.get("since") or 0)
    if not 0 <= age <= current_app.config["SECOND_FACTOR_PENDING_SECONDS"]:
        session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, int(pending.get("user") or 0))
    if user is None or not user.active:
        return None
    return user, bool(pending.get("remember"))


def pending_account_key() -> str:
    """The throttle's key for the account whose code is being asked for ("" if none)."""
    pending = session.get(PENDING_KEY)
    return str(pending.get("account") or "") if isinstance(pending, dict) else ""
