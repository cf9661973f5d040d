"""Staff edit the catalog: a policy's summary, its links and whether it suits hostile states."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from campaign.accounts.roles import is_staff
from campaign.catalog.forms import PolicyForm
from campaign.catalog.operations import get_policy_by_slug, update_policy
from campaign.extensions import db
from campaign.security import role_required

bp = Blueprint("catalog", __name__)


@bp.route("/policies/<slug:slug>/edit", methods=["GET", "POST"])
@role_required(is_staff)
def edit_policy(slug: str):
    found = get_policy_by_slug(slug)
    if found is None:
        abort(404)
    form = PolicyForm(obj=None if request.method == "POST" else found)
    if request.method == "GET":
        while form.resources.entries:  # `obj` filled them already; list each link once
            form.resources.pop_entry()
        for resource in found.resources:
            form.resources.append_entry({"label": resource.label, "url": resource.url or ""})
        if len(form.resources) < form.resources.max_entries:
            form.resources.append_entry()  # a blank row to add a link
    if form.validate_on_submit():
        resources = [
            (entry.form.label.data, entry.form.url.data)
            for entry in form.resources
            if entry.form.label.data
        ]
        update_policy(
            found,
            summary=form.summary.data,
            hostile_state_friendly=form.hostile_state_friendly.data,
            resources=resources,
            actor=current_user,
        )
        db.session.commit()
        flash(f"Saved “{found.short_title}”.", "success")
        return redirect(url_for("pages.policy", slug=found.slug))
    status = 422 if request.method == "POST" else 200
    return render_template("catalog/edit.html", policy=found, form=form), status
