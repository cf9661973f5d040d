"""Staff read the audit trail as a list, filtered by kind of change."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from campaign.accounts.roles import is_staff
from campaign.audit.models import AuditEntry
from campaign.extensions import db
from campaign.security import role_required
from campaign.validation import page_number, strip_line

bp = Blueprint("audit", __name__, url_prefix="/staff/audit")


@bp.route("/")
@role_required(is_staff)
def index():
    action = strip_line(request.args.get("action") or "")[:60]
    stmt = select(AuditEntry).options(joinedload(AuditEntry.actor))
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    page = db.paginate(
        stmt.order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc()),
        page=page_number(request.args.get("page")),
        per_page=100,
        error_out=False,
    )
    actions = list(
        db.session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action))
    )
    return render_template("audit/index.html", page=page, action=action, actions=actions)
