"""An official commits to policies, then reports progress on "My commitments"."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from campaign.accounts.roles import (
    can_change_visibility,
    can_make_commitments,
    can_report_progress,
)
from campaign.catalog.operations import priorities_with_policies
from campaign.commitments.models import Visibility
from campaign.commitments.operations import (
    CommitmentError,
    Pledge,
    change_visibility,
    commitments_of,
    get_commitment_or_404,
    make_commitments,
    record_progress,
    timeline_of,
)
from campaign.commitments.stages import DESCRIPTIONS, Stage, next_stages
from campaign.extensions import db
from campaign.help.operations import requests_for_commitment
from campaign.layers.facts import facts_for
from campaign.officials.forms import ProgressForm, VisibilityForm, commit_form_class
from campaign.security import role_required
from campaign.timeutil import today
from campaign.validation import NOTE_MAX, strip_line

bp = Blueprint("commitments", __name__, url_prefix="/commitments")


@bp.route("/new", methods=["GET", "POST"])
@role_required(can_make_commitments)
def new():
    if current_user.awaiting_email_confirmation:
        # Explained, with a button for a new link; a POST changes nothing (403).
        status = 403 if request.method == "POST" else 200
        return render_template("commitments/confirm_first.html"), status
    priorities = priorities_with_policies()
    policies = [p for pr in priorities for p in pr.policies]
    already = {c.policy_id: c for c in commitments_of(current_user)}
    form = commit_form_class(policies)()
    general_error = None
    if form.validate_on_submit():
        pledges = [
            Pledge(
                policy=policy,
                visibility=Visibility(form[f"visibility_{policy.id}"].data),
                target_date=form[f"target_{policy.id}"].data,
                note=form[f"note_{policy.id}"].data,
            )
            for policy in policies
            if form[f"commit_{policy.id}"].data and policy.id not in already
        ]
        try:
            created = make_commitments(current_user, pledges, pledged_on=today())
        except CommitmentError as error:
            db.session.rollback()
            general_error = str(error)
        else:
            db.session.commit()
            ids = ",".join(str(c.id) for c in created)
            return redirect(url_for("commitments.recorded", ids=ids))
    elif request.method == "POST":
        general_error = "Some answers need attention: see the messages below."
    status = 422 if request.method == "POST" else 200
    return render_template(
        "commitments/new.html",
        form=form,
        priorities=priorities,
        already=already,
        general_error=general_error,
        visibilities=list(Visibility),
    ), status


@bp.route("/recorded")
@role_required(can_make_commitments)
def recorded():
    raw = request.args.get("ids", "")
    try:
        ids = [int(part) for part in raw.split(",") if part][:50]
    except ValueError:
        abort(404)
    if any(not 0 < i < 2**31 for i in ids):
        abort(404)
    commitments = [get_commitment_or_404(i, current_user) for i in ids]
    if not commitments:
        return redirect(url_for("commitments.mine"))
    return render_template("commitments/recorded.html", commitments=commitments)


@bp.route("/")
@role_required(can_make_commitments)
def mine():
    commitments = commitments_of(current_user)
    return render_template(
        "commitments/mine.html", commitments=commitments, layer_facts=facts_for(commitments)
    )


@bp.route("/<id:commitment_id>", methods=["GET"])
@login_required
def detail(commitment_id: int):
    commitment = get_commitment_or_404(commitment_id, current_user)
    progress_form = ProgressForm()
    # A note suggested by the link that led here (staff's "record the win" cites the list).
    suggested = strip_line(request.args.get("note", ""))[:NOTE_MAX]
    if suggested:
        progress_form.note.data = suggested
    return _render_detail(commitment, progress_form, VisibilityForm())


@bp.route("/<id:commitment_id>/progress", methods=["POST"])
@login_required
def report_progress(commitment_id: int):
    commitment = get_commitment_or_404(commitment_id, current_user, check=can_report_progress)
    form = ProgressForm()
    form.set_stage_choices(next_stages(commitment.stage, commitment.furthest_stage))
    if form.validate_on_submit():
        try:
            record_progress(
                commitment,
                stage=Stage(form.stage.data),
                occurred_on=form.occurred_on.data,
                evidence_url=form.evidence_url.data,
                note=form.note.data,
                recorded_by=current_user,
                expected_version=_int_or_none(form.version.data),
            )
        except CommitmentError as error:
            db.session.rollback()
            commitment = get_commitment_or_404(
                commitment_id, current_user, check=can_report_progress
            )
            target = form._fields.get(error.field or "", form.stage)
            target.errors.append(str(error))
        else:
            db.session.commit()
            flash(
                f"Recorded: {commitment.policy.short_title} is now "
                f"{commitment.stage.label.lower()}.",
                "success",
            )
            return redirect(url_for("commitments.detail", commitment_id=commitment.id))
    return _render_detail(commitment, form, VisibilityForm(formdata=None)), 422


@bp.route("/<id:commitment_id>/visibility", methods=["POST"])
@login_required
def set_visibility(commitment_id: int):
    commitment = get_commitment_or_404(commitment_id, current_user, check=can_change_visibility)
    form = VisibilityForm()
    if form.validate_on_submit():
        try:
            change_visibility(
                commitment,
                Visibility(form.visibility.data),
                current_user,
                reason=form.reason.data,
            )
        except CommitmentError as error:
            db.session.rollback()
            commitment = get_commitment_or_404(
                commitment_id, current_user, check=can_change_visibility
            )
            form[error.field or "visibility"].errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Visibility is now: {commitment.visibility.label}.", "success")
            return redirect(url_for("commitments.detail", commitment_id=commitment.id))
    return _render_detail(commitment, ProgressForm(formdata=None), form), 422


def _render_detail(commitment, progress_form: ProgressForm, visibility_form: VisibilityForm):
    progress_form.set_stage_choices(next_stages(commitment.stage, commitment.furthest_stage))
    progress_form.version.data = commitment.version
    if progress_form.occurred_on.data is None and not progress_form.occurred_on.errors:
        progress_form.occurred_on.data = today()
    if visibility_form.visibility.data is None:
        visibility_form.visibility.data = commitment.visibility.value
    return render_template(
        "commitments/detail.html",
        commitment=commitment,
        timeline=timeline_of(commitment),
        progress_form=progress_form,
        visibility_form=visibility_form,
        descriptions=DESCRIPTIONS,
        help_requests=requests_for_commitment(commitment.id),
    )


def _int_or_none(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
