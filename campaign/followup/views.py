"""The staff workspace: the follow-up queue, assignment and the contact log."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms import SelectChoice

from campaign.accounts.models import User
from campaign.accounts.operations import official_or_404
from campaign.accounts.roles import can_verify_evidence, is_staff
from campaign.audit.operations import entries_for, record_export
from campaign.commitments.filters import FilterForm
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.commitments.operations import get_commitment_or_404, timeline_of
from campaign.commitments.stages import LIVE_STAGES, Stage
from campaign.extensions import db
from campaign.followup.forms import AssignForm, ContactForm, RejectOfficialForm
from campaign.followup.models import ContactKind, FollowUp
from campaign.followup.operations import (
    FollowUpError,
    StaffMember,
    assign,
    confirm_body,
    contact_log,
    log_contact,
    staff_members,
    unconfirmed_bodies,
    verify_evidence,
)
from campaign.followup.queue import QueueFilter, cached_queue_page, follow_up_queue
from campaign.followup.verification import (
    VerificationError,
    officials_to_verify,
    reject_official,
    verification_case,
    verify_official,
)
from campaign.help.operations import requests_for_commitment
from campaign.layers.facts import LayerFacts, facts_for
from campaign.places.matching import STATES
from campaign.places.models import Jurisdiction
from campaign.security import is_safe_redirect_target, role_required
from campaign.timeutil import today
from campaign.validation import record_id
from campaign.web.exports import csv_response
from campaign.web.forms import require_action_form

bp = Blueprint("followup", __name__, url_prefix="/staff")


def _queue_filter() -> QueueFilter:
    """The queue filter from the query string: unknown values are dropped, not kept."""
    args = request.args
    owner = args.get("owner", "mine")
    if owner not in ("mine", "all", "unassigned") and record_id(owner) is None:
        owner = "mine"
    state = args.get("state") if args.get("state") in STATES else None
    stage = args.get("stage") if args.get("stage") in {s.value for s in Stage} else None
    policy = args.get("policy")
    if policy not in {choice.value for choice in FilterForm(None).policy.choices[1:]}:
        policy = None
    return QueueFilter(owner=owner, state=state, policy=policy, stage=stage)


def _owner_choices(staff: list[StaffMember] | None = None) -> list[SelectChoice]:
    staff = staff_members() if staff is None else staff
    return [SelectChoice("", "Nobody")] + [SelectChoice(str(u.id), u.name) for u in staff]


@bp.route("/queue")
@role_required(is_staff)
def queue():
    flt = _queue_filter()
    try:
        page_number = int(request.args.get("page", "1"))
    except ValueError:
        page_number = 1
    page = cached_queue_page(today(), flt.for_viewer(current_user), max(1, page_number))
    staff = staff_members()
    assign_form = AssignForm(formdata=None)
    assign_form.owner.choices = _owner_choices(staff)
    assign_form.owner.data = str(current_user.id)
    assign_form.back.data = request.full_path
    catalog = FilterForm(None)
    return render_template(
        "followup/queue.html",
        page=page,
        flt=flt,
        staff=staff,
        assign_form=assign_form,
        policies=catalog.policy.choices,
        states=sorted(STATES.items(), key=lambda kv: kv[1]),
        stages=LIVE_STAGES,
        args={k: v for k, v in request.args.items() if k != "page"},
    )


@bp.route("/queue.csv")
@role_required(is_staff)
def queue_csv():
    flt = _queue_filter()
    page = follow_up_queue(today(), flt.for_viewer(current_user), page=1, per_page=10_000)
    record_export(
        current_user,
        "follow_up_queue",
        current_user,
        filters={"owner": flt.owner, "state": flt.state, "policy": flt.policy, "stage": flt.stage},
        rows=len(page.items),
    )
    db.session.commit()  # the download is recorded before any of it is sent
    header = ["commitment_id", "reason", "due_on", "official", "jurisdiction", "policy",
              "stage", "owner"]  # fmt: skip
    rows = (
        [i.commitment_id, i.reason.label, i.due_on, i.official_name, i.jurisdiction_label,
         i.policy_title, i.stage.label, i.owner_name or ""]
        for i in page.items
    )  # fmt: skip
    return csv_response("follow-up-queue.csv", header, rows)


@bp.route("/assign", methods=["POST"])
@role_required(is_staff)
def assign_many():
    form = AssignForm()
    form.owner.choices = _owner_choices()
    back = form.back.data if is_safe_redirect_target(form.back.data) else url_for(".queue")
    if not form.validate_on_submit():
        abort(400)
    ids = [i for i in map(record_id, form.commitment_ids.data or []) if i is not None][:500]
    if not ids:
        flash("Tick at least one commitment to assign.", "error")
        return redirect(back)
    owner = _staff_or_none(form.owner.data)
    commitments = list(db.session.scalars(db.select(Commitment).where(Commitment.id.in_(ids))))
    try:
        changed = assign(commitments, owner, current_user)
    except FollowUpError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(back)
    db.session.commit()
    flash(
        f"Assigned {changed} {'commitment' if changed == 1 else 'commitments'} to "
        f"{owner.name if owner else 'nobody'}.",
        "success",
    )
    return redirect(back)


def _staff_or_none(raw: str | None) -> User | None:
    if not raw:
        return None
    owner_id = record_id(raw)
    if owner_id is None:
        abort(400)
    owner = db.session.get(User, owner_id)
    if owner is None or not is_staff(owner):
        abort(400)
    return owner


@bp.route("/commitments/<id:commitment_id>", methods=["GET", "POST"])
@role_required(is_staff)
def commitment(commitment_id: int):
    record = get_commitment_or_404(commitment_id, current_user)
    form = ContactForm()
    if request.method == "GET":
        form.contacted_on.data = today()
    if form.validate_on_submit():
        error = _save_contact(form, record.official, record)
        if error is None:
            flash("Contact logged.", "success")
            return redirect(url_for(".commitment", commitment_id=commitment_id))
        form[error.field or "note"].errors.append(str(error))
    assign_form = AssignForm(formdata=None)
    assign_form.owner.choices = _owner_choices()
    # Read-only here: a GET must not write (it would take SQLite's write lock for nothing).
    state = db.session.get(FollowUp, record.id) or FollowUp(commitment_id=record.id)
    assign_form.owner.data = str(state.owner_id or "")
    assign_form.commitment_ids.data = [str(record.id)]
    assign_form.back.data = url_for(".commitment", commitment_id=commitment_id)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "followup/commitment.html",
        commitment=record,
        state=state,
        timeline=timeline_of(record),
        contacts=contact_log(record.official_id, record.id),
        audit=entries_for("commitment", record.id),
        help_requests=requests_for_commitment(record.id),
        layer_facts=facts_for([record]).get(record.id, []),
        record_win_url=lambda facts: _record_win_url(record, facts),
        form=form,
        assign_form=assign_form,
    ), status


def _record_win_url(commitment: Commitment, facts: LayerFacts) -> str:
    """The commitment's progress form with a note citing the list that no longer has it."""
    ended = "; ".join(
        f"{x.agency} ({x.support_type or 'agreement'}), not listed since {x.ended_on.isoformat()}"
        for x in facts.ended
    )
    note = f"{facts.layer.name}: {ended}. Confirmed with {commitment.official.name}."
    return url_for("commitments.detail", commitment_id=commitment.id, note=note)


@bp.route("/timeline/<id:entry_id>/verify", methods=["POST"])
@role_required(can_verify_evidence)
def verify(entry_id: int):
    entry = db.get_or_404(TimelineEntry, entry_id)
    require_action_form()
    try:
        verify_evidence(entry, current_user)
    except FollowUpError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash("Evidence marked as verified.", "success")
    return redirect(url_for(".commitment", commitment_id=entry.commitment_id))


@bp.route("/jurisdictions", methods=["GET"])
@role_required(is_staff)
def jurisdictions():
    return render_template("followup/jurisdictions.html", bodies=unconfirmed_bodies())


@bp.route("/jurisdictions/<id:jurisdiction_id>/confirm", methods=["POST"])
@role_required(is_staff)
def confirm_jurisdiction(jurisdiction_id: int):
    body = db.get_or_404(Jurisdiction, jurisdiction_id)
    require_action_form()
    confirm_body(body, current_user)
    db.session.commit()
    flash(f"{body.label} is confirmed.", "success")
    return redirect(url_for(".jurisdictions"))


@bp.route("/officials/to-verify")
@role_required(is_staff)
def officials_awaiting_verification():
    return render_template("followup/officials_to_verify.html", officials=officials_to_verify())


@bp.route("/officials/<id:official_id>/verify", methods=["GET", "POST"])
@role_required(is_staff)
def verify_official_page(official_id: int):
    """What staff need to decide whether an official who signed up is real, and the button."""
    official = official_or_404(official_id)
    if request.method == "POST":
        require_action_form()
        try:
            verify_official(official, current_user)
        except VerificationError as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.commit()
            flash(f"{official.name} is verified: their commitments now count.", "success")
        return redirect(url_for(".verify_official_page", official_id=official_id))
    return _verification_page(official, RejectOfficialForm(formdata=None), 200)


@bp.route("/officials/<id:official_id>/reject", methods=["POST"])
@role_required(is_staff)
def reject_official_view(official_id: int):
    official = official_or_404(official_id)
    form = RejectOfficialForm()
    if not form.validate_on_submit():
        return _verification_page(official, form, 422)
    try:
        reject_official(official, current_user, form.reason.data or None)
    except VerificationError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"{official.name} was not verified; the account is deactivated.", "success")
    return redirect(url_for(".verify_official_page", official_id=official_id))


def _verification_page(official: User, reject_form: RejectOfficialForm, status: int):
    return render_template(
        "followup/verify_official.html",
        case=verification_case(official),
        reject_form=reject_form,
        audit=entries_for("user", official.id),
    ), status


@bp.route("/officials/<id:official_id>/contact", methods=["POST"])
@role_required(is_staff)
def contact_official(official_id: int):
    """A contact with the official as a whole (a call about several commitments)."""
    official = db.get_or_404(User, official_id)
    form = ContactForm()
    if form.validate_on_submit():
        error = _save_contact(form, official, None)
        if error is None:
            flash("Contact logged for all of this official's open commitments.", "success")
        else:
            flash(str(error), "error")
    else:
        for errors in form.errors.values():
            flash(errors[0], "error")
    return redirect(url_for("directory.official", official_id=official_id))


def _save_contact(form: ContactForm, official: User, commitment) -> FollowUpError | None:
    """Log the contact and commit; on a refusal roll back and return the error to show."""
    try:
        log_contact(
            official=official,
            commitment=commitment,
            staff=current_user,
            kind=ContactKind(form.kind.data),
            contacted_on=form.contacted_on.data,
            note=form.note.data,
            next_follow_up_on=form.next_follow_up_on.data,
        )
    except FollowUpError as error:
        db.session.rollback()
        return error
    db.session.commit()
    return None
