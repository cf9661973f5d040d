"""Every model in one import, so Alembic and the tests see the whole schema."""

from campaign.accounts.models import RecoveryCode, SecondFactor, User, UserSession
from campaign.audit.models import AuditEntry
from campaign.catalog.models import Policy, PolicyResource, Priority
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.figures.revision import DataRevision
from campaign.followup.models import ContactLogEntry, FollowUp, SentReminder
from campaign.help.models import HelpMessage, HelpRequest
from campaign.imports.models import ImportBatch, MailMessage, SavedMapping
from campaign.layers.models import (
    LayerAgreement,
    LayerMapping,
    LayerSnapshot,
    LayerUpload,
    ReferenceLayer,
)
from campaign.places.models import Jurisdiction

__all__ = [
    "AuditEntry",
    "Commitment",
    "ContactLogEntry",
    "DataRevision",
    "FollowUp",
    "HelpMessage",
    "HelpRequest",
    "ImportBatch",
    "Jurisdiction",
    "LayerAgreement",
    "LayerMapping",
    "LayerSnapshot",
    "LayerUpload",
    "MailMessage",
    "Policy",
    "PolicyResource",
    "Priority",
    "RecoveryCode",
    "ReferenceLayer",
    "SavedMapping",
    "SecondFactor",
    "SentReminder",
    "TimelineEntry",
    "User",
    "UserSession",
]
