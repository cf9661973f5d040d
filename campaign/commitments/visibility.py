"""Who sees which commitments: the one place the app decides it.

Three levels, chosen by the official per commitment:
- public: shown with the official's name and jurisdiction;
- counted: never with a name or a jurisdiction, and in figures only as the large blocks
  disclosure.py releases;
- private: seen by campaign staff only, left out of every public number.

Every page, export and endpoint builds its queries from these helpers, so a new page
cannot forget a rule.

Only real officials are named: outside staff, a commitment counts and names its official
only once the official is verified (accounts/models.py, User.verified_at). An official
always sees their own.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select, true

from campaign.accounts.models import User
from campaign.accounts.roles import can_see_private_commitments, is_official
from campaign.commitments.models import Commitment, Visibility
from campaign.commitments.stages import OPEN_STAGES, Stage


def by_verified_official() -> ColumnElement[bool]:
    """The official is verified: NOT IN the few unverified, so the figures index still serves."""
    return Commitment.official_id.not_in(select(User.id).where(User.verified_at.is_(None)))


def _public_by_verified_official() -> ColumnElement[bool]:
    return and_(Commitment.visibility == Visibility.PUBLIC, by_verified_official())


def named_condition(viewer) -> ColumnElement[bool]:
    """Commitments the viewer may see as records: with the official's name and place."""
    if can_see_private_commitments(viewer):
        return true()
    condition = _public_by_verified_official()
    if is_official(viewer):
        condition = or_(condition, Commitment.official_id == viewer.id)
    return condition


def active_condition() -> ColumnElement[bool]:
    """A withdrawn commitment no longer counts as a commitment."""
    return Commitment.stage != Stage.WITHDRAWN


def open_condition() -> ColumnElement[bool]:
    """Still being worked on (stages.OPEN_STAGES): what staff follow up and remind about."""
    return Commitment.stage.in_(OPEN_STAGES)


# Aggregate pages (map, dashboard, exports) are cached and shared between viewers, so they see
# one of two scopes rather than per-user rules: an official's own private commitment shows on
# their own pages, not on the shared map.
PUBLIC_SCOPE = "public"
STAFF_SCOPE = "staff"


def aggregate_scope(viewer) -> str:
    return STAFF_SCOPE if can_see_private_commitments(viewer) else PUBLIC_SCOPE


def scope_named(scope: str) -> ColumnElement[bool]:
    """Commitments a scope may place on the map or list with names and jurisdictions."""
    if scope == STAFF_SCOPE:
        return true()
    return _public_by_verified_official()


def directory_scope_condition(viewer) -> ColumnElement[bool]:
    """Which commitments make an official appear in the directory, and are listed there.

    Staff see every official and commitment; organizers only officials with a live public
    commitment, and only those commitments: an official who chose "counted" or "private",
    or withdrew, is not in their list.
    """
    scope = aggregate_scope(viewer)
    if scope == STAFF_SCOPE:
        return true()
    return and_(scope_named(scope), active_condition())
