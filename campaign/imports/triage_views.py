"""The triage queue: staff read each helpdesk thread and accept or dismiss it."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from campaign.accounts.roles import is_staff
from campaign.catalog.operations import priorities_with_policies
from campaign.commitments.models import Visibility
from campaign.commitments.stages import Stage
from campaign.extensions import db
from campaign.imports.forms import AcceptForm, DismissForm
from campaign.imports.models import MailMessage, TriageStatus
from campaign.imports.triage import (
    Acceptance,
    TriageError,
    accept_thread,
    dismiss_thread,
    queue_threads,
    reopen_thread,
    suggestions_for,
    thread_of,
)
from campaign.places.forms import resolve_picker
from campaign.security import role_required
from campaign.validation import page_number
from campaign.web.forms import require_action_form

bp = Blueprint("triage", __name__, url_prefix="/staff/triage")
PER_PAGE = 50


@bp.route("/")
@role_required(is_staff)
def queue():
    raw_status = request.args.get("status", TriageStatus.NEW.value)
    status = TriageStatus(raw_status) if raw_status in set(TriageStatus) else TriageStatus.NEW
    page = page_number(request.args.get("page"))
    threads, total = queue_threads(status, page, PER_PAGE)
    policy_names = {
        p.id: p.short_title for priority in priorities_with_policies() for p in priority.policies
    }
    return render_template(
        "imports/triage_queue.html",
        policy_names=policy_names,
        threads=threads,
        total=total,
        status=status,
        statuses=list(TriageStatus),
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
    )


def _thread_or_404(message_id: int):
    message = db.get_or_404(MailMessage, message_id)
    return message, thread_of(message)


def _policy_choices() -> list[SelectChoice]:
    return [
        SelectChoice(str(p.id), p.short_title)
        for priority in priorities_with_policies()
        for p in priority.policies
    ]


@bp.route("/<id:message_id>", methods=["GET", "POST"])
@role_required(is_staff)
def thread(message_id: int):
    message, thread = _thread_or_404(message_id)
    suggested = suggestions_for(thread)
    form = AcceptForm()
    form.policies.choices = _policy_choices()
    if request.method == "GET":
        form.email.data = suggested.email
        form.name.data = suggested.name
        if suggested.official is not None:
            form.office_title.data = suggested.official.office_title
        if suggested.jurisdictions:
            form.jurisdiction.data = suggested.jurisdictions[0].label
            form.jurisdiction_key.data = suggested.jurisdictions[0].key
        form.policies.data = [str(p.id) for p in suggested.policies]
        form.occurred_on.data = suggested.sent_on
    status = 200
    if request.method == "POST":
        status = 422
        valid = form.validate_on_submit()
        jurisdiction = resolve_picker(form, "jurisdiction")
        if valid and jurisdiction is not None:
            chosen = {int(i) for i in form.policies.data}
            policies = [
                p
                for priority in priorities_with_policies()
                for p in priority.policies
                if p.id in chosen
            ]
            decision = Acceptance(
                email=form.email.data,
                name=form.name.data or "",
                office_title=form.office_title.data or None,
                jurisdiction=jurisdiction,
                policies=policies,
                stage=Stage(form.stage.data),
                occurred_on=form.occurred_on.data,
                visibility=Visibility(form.visibility.data),
                note=form.note.data or None,
            )
            try:
                accepted = accept_thread(thread, decision, current_user)
            except TriageError as error:
                db.session.rollback()
                flash(str(error), "error")
            else:
                official = accepted.official
                message_text = (
                    f"Accepted: {len(accepted.recorded)} commitments recorded for {official.name}."
                )
                if accepted.unchanged:
                    message_text += " Already at that stage or further along, so unchanged: " + (
                        ", ".join(p.short_title for p in accepted.unchanged) + "."
                    )
                if not official.password_hash:
                    message_text += (
                        " They have no password yet: invite them from their directory page."
                    )
                db.session.commit()
                flash(message_text, "success")
                return redirect(url_for("triage.queue"))
    return render_template(
        "imports/triage_thread.html",
        thread=thread,
        focus=message,
        suggested=suggested,
        form=form,
        dismiss_form=DismissForm(formdata=None),
        TriageStatus=TriageStatus,
    ), status


@bp.route("/<id:message_id>/dismiss", methods=["POST"])
@role_required(is_staff)
def dismiss(message_id: int):
    _message, thread = _thread_or_404(message_id)
    form = DismissForm()
    if not form.validate_on_submit():
        flash("Keep the reason under 300 characters; nothing was changed.", "error")
        return redirect(url_for("triage.thread", message_id=message_id))
    try:
        dismiss_thread(thread, form.reason.data, current_user)
    except TriageError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("triage.thread", message_id=message_id))
    db.session.commit()
    flash("Marked as not a commitment.", "success")
    return redirect(url_for("triage.queue"))


@bp.route("/<id:message_id>/reopen", methods=["POST"])
@role_required(is_staff)
def reopen(message_id: int):
    require_action_form()
    _message, thread = _thread_or_404(message_id)
    try:
        reopen_thread(thread, current_user)
    except TriageError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash("Back in the triage queue.", "success")
    return redirect(url_for("triage.thread", message_id=message_id))
