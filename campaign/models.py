"""Every model in one import, so Alembic and the tests see the whole schema."""

from campaign.accounts.models import User
from campaign.catalog.models import Policy, PolicyResource, Priority
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.places.models import Jurisdiction

__all__ = [
    "Commitment",
    "Jurisdiction",
    "Policy",
    "PolicyResource",
    "Priority",
    "TimelineEntry",
    "User",
]
