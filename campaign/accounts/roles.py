"""Who may do what: every permission in the app is decided here, as a sentence.

Views, decorators and templates call these predicates instead of comparing roles inline,
so a change of policy is a change in one file.
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from campaign.accounts.models import User
    from campaign.commitments.models import Commitment


class Role(enum.StrEnum):
    OFFICIAL = "official"
    ORGANIZER = "organizer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def _role(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.role


def is_official(user) -> bool:
    return _role(user) == Role.OFFICIAL


def is_staff(user) -> bool:
    """Staff and admins work the follow-up queue and see every commitment."""
    return _role(user) in (Role.STAFF, Role.ADMIN)


def is_admin(user) -> bool:
    return _role(user) == Role.ADMIN


def can_make_commitments(user) -> bool:
    return is_official(user)


def can_see_private_commitments(user) -> bool:
    return is_staff(user)


def can_see_contact_details(user) -> bool:
    return is_staff(user)


def can_view_commitment(user, commitment: Commitment) -> bool:
    """Officials see (and update) their own; staff see and update all, e.g. progress an
    official reported by phone. Organizers use aggregate pages, not records."""
    if is_staff(user):
        return True
    return is_official(user) and commitment.official_id == user.id


def can_view_dashboard(user) -> bool:
    """Organizers plan where to push next; staff and admins run the campaign."""
    return _role(user) in (Role.ORGANIZER, Role.STAFF, Role.ADMIN)


def can_view_directory(user) -> bool:
    """Organizers see the directory without contact details; staff see everything."""
    return can_view_dashboard(user)


def can_manage_users(user: User | None) -> bool:
    return is_admin(user)
