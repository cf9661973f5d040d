"""Asking for help and answering. Functions add, flush and audit; callers commit, then mail."""

from __future__ import annotations

from flask import abort
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from campaign.accounts.models import User
from campaign.accounts.roles import is_staff
from campaign.audit.operations import record
from campaign.commitments.models import Commitment
from campaign.extensions import db
from campaign.help.models import HelpMessage, HelpRequest, HelpStatus, HelpTopic
from campaign.timeutil import utcnow


def ask_for_help(commitment: Commitment, official: User, topic: HelpTopic, body: str):
    """An official's request on their own commitment; it enters the staff queue."""
    request = HelpRequest(
        commitment=commitment,
        official=official,
        topic=topic,
        status=HelpStatus.WAITING_FOR_STAFF,
        messages=[HelpMessage(author=official, body=body)],
    )
    db.session.add(request)
    db.session.flush()
    record(
        official,
        "help.requested",
        commitment,
        f"Help requested ({topic.label}) on {commitment.policy.short_title}",
    )
    return request


def reply(request: HelpRequest, author: User, body: str, *, close: bool = False) -> HelpMessage:
    """Add to the thread; who wrote last decides whose turn it is."""
    message = HelpMessage(request=request, author=author, body=body)
    db.session.add(message)
    if close and is_staff(author):
        request.status = HelpStatus.CLOSED
    elif is_staff(author):
        request.status = HelpStatus.ANSWERED
    else:
        request.status = HelpStatus.WAITING_FOR_STAFF
    request.updated_at = utcnow()
    db.session.flush()
    record(
        author,
        "help.replied" if not close else "help.closed",
        request.commitment,
        f"{'Staff' if is_staff(author) else 'Official'} replied to a help request"
        + (" and closed it" if close and is_staff(author) else ""),
    )
    return message


def get_help_request_or_404(request_id: int, user) -> HelpRequest:
    """The request if this user is its official or staff; 404 otherwise."""
    found = db.session.get(
        HelpRequest,
        request_id,
        options=[selectinload(HelpRequest.messages).joinedload(HelpMessage.author)],
    )
    if found is None or not (is_staff(user) or found.official_id == user.id):
        abort(404)
    return found


def requests_for_commitment(commitment_id: int) -> list[HelpRequest]:
    return list(
        db.session.scalars(
            select(HelpRequest)
            .where(HelpRequest.commitment_id == commitment_id)
            .order_by(HelpRequest.created_at.desc())
        )
    )
