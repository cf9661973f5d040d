"""Public pages: the campaign home and one page per policy."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user

from campaign.catalog.operations import get_policy_by_slug, priorities_with_policies
from campaign.commitments.operations import jurisdictions_committed_per_policy, policy_adoption

bp = Blueprint("catalog", __name__)


@bp.route("/")
def home():
    return render_template(
        "catalog/home.html",
        priorities=priorities_with_policies(),
        committed=jurisdictions_committed_per_policy(current_user),
    )


@bp.route("/policies/<slug>")
def policy(slug: str):
    found = get_policy_by_slug(slug)
    if found is None:
        abort(404)
    return render_template(
        "catalog/policy.html",
        policy=found,
        groups=policy_adoption(found, current_user),
    )
