"""The organizers' dashboard and its CSV exports."""

from __future__ import annotations

import itertools

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from campaign.accounts.roles import can_view_dashboard
from campaign.commitments.filters import filter_from_request, render_filter_form
from campaign.commitments.stages import LIVE_STAGES
from campaign.commitments.visibility import aggregate_scope
from campaign.dashboard.figures import dashboard_figures
from campaign.figures.cache import cached
from campaign.layers.targets import all_layers, targets_for
from campaign.places.matching import STATES
from campaign.security import role_required
from campaign.web.exports import csv_response

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.route("/")
@role_required(can_view_dashboard)
def page():
    flt, form = filter_from_request(request.args)
    scope = aggregate_scope(current_user)
    args = flt.query_args()
    figures_html = cached(
        ("dashboard-html", scope, flt.cache_key),
        lambda: Markup(  # noqa: S704 - our own autoescaped template
            render_template(
                "dashboard/_figures.html",
                args=args,
                figures=dashboard_figures(flt, scope),
                stages=LIVE_STAGES,
                state_names=STATES,
            )
        ),
        unaffected_by=flt.unaffected_by,
    )
    layer_targets = targets_for(all_layers(), current_user, request.args.get("sort", ""))
    return render_template(
        "dashboard/page.html",
        form=form,
        args=args,
        filter_html=render_filter_form(form, flt, url_for("dashboard.page")),
        figures_html=figures_html,
        layer_targets=layer_targets,
    )


@bp.route("/policies.csv")
@role_required(can_view_dashboard)
def policies_csv():
    flt, _form = filter_from_request(request.args)
    figures = dashboard_figures(flt, aggregate_scope(current_user))
    header = ["priority", "policy", "hostile_state_friendly", "jurisdictions", "commitments"]
    header += [stage.value for stage in LIVE_STAGES]
    rows = (
        [p.priority_title, p.title, "yes" if p.hostile_state_friendly else "no",
         p.jurisdictions, p.commitments, *[p.by_stage.get(s, 0) for s in LIVE_STAGES]]
        for p in figures.policies
    )  # fmt: skip
    not_named = figures.totals.not_named
    if not_named:  # the same remainder row as the page: counted, in no policy or stage
        blanks = [""] * len(LIVE_STAGES)
        remainder = [["", "Not named (policy and stage not shown)", "", "", not_named, *blanks]]
        rows = itertools.chain(rows, remainder)
    return csv_response("adoption-by-policy.csv", header, rows)


@bp.route("/states.csv")
@role_required(can_view_dashboard)
def states_csv():
    flt, _form = filter_from_request(request.args)
    figures = dashboard_figures(flt, aggregate_scope(current_user))
    header = ["state", "state_name", "jurisdictions", "commitments",
              "population_in_committed_places", "population_of_listed_places",
              "population_share"]  # fmt: skip
    rows = (
        [s.state, STATES.get(s.state, s.state), s.jurisdictions, s.commitments,
         s.population_committed, s.population_known,
         round(s.population_share, 4) if s.population_share is not None else None]
        for s in figures.states
    )  # fmt: skip
    if figures.other_states:
        remainder = [["", "Other states (not named, state not shown)", "", figures.other_states,
                      "", "", ""]]  # fmt: skip
        rows = itertools.chain(rows, remainder)
    return csv_response("adoption-by-state.csv", header, rows)
