"""Staff verify that an official who signed up alone is real before anyone else sees them.

Until then their commitments count nowhere and name no one outside staff
(commitments/visibility.py reads `User.verified_at`); verifying shows them at once, since a
change to a user's verification moves the hiding revision (figures/revision.py). Rejecting
deactivates the account: it is signed out and its commitments stay unpublished. Both are
audited. Functions flush and never commit; the view commits.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from campaign.accounts.models import User
from campaign.accounts.operations import AccountError, set_active
from campaign.accounts.roles import is_official_account, official_condition
from campaign.audit.operations import record
from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.timeutil import utcnow


class VerificationError(ValueError):
    """A verification staff asked for that cannot be done; the message says why."""


def awaiting_verification() -> Select:
    """The ids of active officials staff have not verified yet (a few, so `IN` stays cheap).

    SQLite is told to find them by the verified_at index: with its statistics from a
    campaign whose accounts were verified in bulk (one timestamp each), it scanned every
    account instead, three times per queue query (20 ms for a page of two rows)."""
    return (
        select(User.id)
        .where(User.verified_at.is_(None), official_condition(User.role), User.active.is_(True))
        .with_hint(User, "INDEXED BY ix_user_verified_at", "sqlite")
    )


def officials_to_verify() -> list[User]:
    """Oldest sign-up first: the one who has waited longest."""
    return list(
        db.session.scalars(
            select(User).where(User.id.in_(awaiting_verification())).order_by(User.created_at)
        )
    )


@dataclass(frozen=True)
class VerificationCase:
    """What staff weigh: who they say they are, where, from which address, how they came."""

    official: User
    email_domain: str
    commitments: list[Commitment]


def verification_case(official: User) -> VerificationCase:
    commitments = list(
        db.session.scalars(
            select(Commitment)
            .where(Commitment.official_id == official.id)
            .options(joinedload(Commitment.policy))
            .order_by(Commitment.pledged_on, Commitment.id)
        )
    )
    return VerificationCase(official, official.email.rpartition("@")[2].lower(), commitments)


def verify_official(official: User, actor: User) -> None:
    """Staff confirm the official holds the office they gave: their commitments now count."""
    if not is_official_account(official):
        raise VerificationError("Only officials are verified.")
    if not official.active:
        raise VerificationError(f"{official.name}'s account is deactivated.")
    if official.is_verified:
        raise VerificationError(f"{official.name} is already verified.")
    official.verified_at = utcnow()
    official.verified_by = actor
    record(
        actor,
        "user.verified",
        official,
        f"{official.name} verified as {official.office_title or 'an official'}"
        + (f", {official.jurisdiction.label}" if official.jurisdiction else ""),
        {"verified": [False, True]},
    )
    db.session.flush()


def reject_official(official: User, actor: User, reason: str | None) -> None:
    """Not a real official (or not who they say): deactivate, so nothing of theirs shows."""
    if not is_official_account(official) or official.is_verified:
        raise VerificationError("Only officials still waiting for verification are rejected here.")
    try:
        set_active(official, False, actor)
    except AccountError as error:
        raise VerificationError(str(error)) from error
    record(
        actor,
        "user.rejected",
        official,
        f"{official.name} not verified" + (f": {reason}" if reason else ""),
    )
    db.session.flush()
