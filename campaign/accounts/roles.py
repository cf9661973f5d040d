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


STAFF_ROLES = (Role.STAFF, Role.ADMIN)


def _role(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.role


def is_official(user) -> bool:
    """The signed-in viewer is an official (an active account)."""
    return _role(user) == Role.OFFICIAL


def is_official_account(person) -> bool:
    """An official's account, active or deactivated: a person a page is about, not the viewer."""
    return person is not None and person.role == Role.OFFICIAL


def official_condition(role_column):
    """`is_official_account` as SQL, for a query over accounts (`official_condition(User.role)`)."""
    return role_column == Role.OFFICIAL


def is_staff(user) -> bool:
    """Staff and admins work the follow-up queue and see every commitment."""
    return _role(user) in STAFF_ROLES


def staff_condition(role_column):
    """`is_staff` as SQL, for a query over accounts (`staff_condition(User.role)`)."""
    return role_column.in_(STAFF_ROLES)


def is_admin(user) -> bool:
    return _role(user) == Role.ADMIN


def can_make_commitments(user) -> bool:
    return is_official(user)


def can_see_private_commitments(user) -> bool:
    return is_staff(user)


def can_see_contact_details(user) -> bool:
    return is_staff(user)


def owns_commitment(user, commitment: Commitment) -> bool:
    """The official who made the commitment: the one person who decides how visible it is."""
    return is_official(user) and commitment.official_id == user.id


def can_view_commitment(user, commitment: Commitment) -> bool:
    """Officials see their own; staff see all. Organizers use aggregate pages, not records."""
    return is_staff(user) or owns_commitment(user, commitment)


def can_report_progress(user, commitment: Commitment) -> bool:
    """A new stage, its date, evidence link and note: the official, or staff recording what
    the official told them (a phone call, an email)."""
    return is_staff(user) or owns_commitment(user, commitment)


def can_change_visibility(user, commitment: Commitment) -> bool:
    """Who may use the visibility form at all; staff only ever towards less public
    (see `can_make_more_visible`)."""
    return is_staff(user) or owns_commitment(user, commitment)


def can_make_more_visible(user, commitment: Commitment) -> bool:
    """Naming or counting someone is their own decision: only the official widens who may
    see a commitment (private → counted → public). Staff may narrow it on request."""
    return owns_commitment(user, commitment)


def can_ask_for_help(user, commitment: Commitment) -> bool:
    """Help requests are the official's own conversation with the campaign."""
    return owns_commitment(user, commitment)


def can_verify_evidence(user) -> bool:
    """Marking an evidence link as checked is staff work."""
    return is_staff(user)


def can_view_dashboard(user) -> bool:
    """Organizers plan where to push next; staff and admins run the campaign."""
    return _role(user) in (Role.ORGANIZER, Role.STAFF, Role.ADMIN)


def can_view_directory(user) -> bool:
    """Organizers see the directory without contact details; staff see everything."""
    return can_view_dashboard(user)


def can_manage_users(user: User | None) -> bool:
    return is_admin(user)


def must_use_second_factor(user) -> bool:
    """Staff and admins read every contact detail: where REQUIRE_STAFF_SECOND_FACTOR is on
    (production), a password alone does not open their accounts."""
    return is_staff(user)
