"""Liveness for load balancers and uptime checks: the app answers and so does its database.

It also says where rate-limit counts live, so a deployment that fell back to per-process
memory (no Redis configured, or Redis unreachable) shows it without reading logs.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from campaign.extensions import db
from campaign.web import throttle

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    rate_limits = throttle.storage_status(current_app)
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable", rate_limits=rate_limits), 503
    return jsonify(status="ok", database="ok", rate_limits=rate_limits)
