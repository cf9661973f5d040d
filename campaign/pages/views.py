"""The home page and the policy pages: the catalog with what is public of its adoption.

Here rather than in the catalog, which knows no commitments: these pages read the catalog,
the commitments' public figures and the reference layers, each through its own queries.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask_login import current_user

from campaign.catalog.operations import get_policy_by_slug, priorities_with_policies
from campaign.commitments.operations import jurisdictions_committed_per_policy, policy_adoption
from campaign.layers.targets import layers_for_policy, targets_for

bp = Blueprint("pages", __name__)


@bp.route("/")
def home():
    return render_template(
        "pages/home.html",
        priorities=priorities_with_policies(),
        committed=jurisdictions_committed_per_policy(current_user),
    )


@bp.route("/policies/<slug:slug>")
def policy(slug: str):
    found = get_policy_by_slug(slug)
    if found is None:
        abort(404)
    return render_template(
        "pages/policy.html",
        policy=found,
        adoption=policy_adoption(found, current_user),
        layer_targets=targets_for(layers_for_policy(found), current_user, request.args.get("sort")),
    )
