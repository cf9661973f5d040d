"""Officials directory pages and CSV export."""

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
from sqlalchemy import select
from wtforms import SelectChoice

from campaign.accounts.invitations import send_invitations, unclaimed
from campaign.accounts.models import AccountOrigin, User
from campaign.accounts.operations import AccountError, official_for, official_or_404
from campaign.accounts.roles import (
    can_see_contact_details,
    can_view_directory,
    is_staff,
)
from campaign.audit.operations import entries_for, record_export
from campaign.catalog.models import Policy
from campaign.catalog.operations import get_policy_by_slug
from campaign.commitments.models import Visibility
from campaign.commitments.operations import CommitmentError, Reported, Source, record_on_behalf
from campaign.commitments.stages import Stage
from campaign.directory.forms import PhoneEntryForm
from campaign.directory.queries import directory, visible_commitments_of
from campaign.extensions import db
from campaign.followup.forms import AssignForm, ContactForm
from campaign.followup.operations import contact_log, staff_members
from campaign.places.matching import STATES
from campaign.security import role_required
from campaign.timeutil import today
from campaign.validation import strip_line
from campaign.web.exports import csv_response
from campaign.web.forms import require_action_form

bp = Blueprint("directory", __name__, url_prefix="/directory")


def _listing(per_page: int):
    state = request.args.get("state") if request.args.get("state") in STATES else None
    search = strip_line(request.args.get("q") or "")[:80]
    try:
        page = int(request.args.get("page", "1"))
    except ValueError:
        page = 1
    return directory(current_user, state=state, search=search, page=page, per_page=per_page), (
        state,
        search,
    )


@bp.route("/")
@role_required(can_view_directory)
def index():
    listing, (state, search) = _listing(50)
    args = {k: v for k, v in (("state", state), ("q", search)) if v}
    return render_template(
        "directory/index.html",
        listing=listing,
        state=state,
        search=search,
        args=args,
        states=sorted(STATES.items(), key=lambda kv: kv[1]),
        show_contacts=can_see_contact_details(current_user),
    )


@bp.route("/officials.csv")
@role_required(is_staff)
def export_csv():
    listing, (state, search) = _listing(100_000)
    record_export(
        current_user,
        "officials_contacts",
        current_user,
        filters={"state": state, "q": search},
        rows=len(listing.rows),
    )
    db.session.commit()  # the download is recorded before any of it is sent
    header = ["name", "office", "jurisdiction", "email", "phone", "commitments", "last_contact"]
    rows = (
        [r.name, r.office_title, r.jurisdiction_label, r.email, r.phone, r.commitments,
         r.last_contact]
        for r in listing.rows
    )  # fmt: skip
    return csv_response("officials.csv", header, rows)


@bp.route("/<id:official_id>")
@role_required(can_view_directory)
def official(official_id: int):
    return _official_page(official_or_404(official_id))


def _official_page(person: User, phone_form: PhoneEntryForm | None = None, status: int = 200):
    official_id = person.id
    commitments = visible_commitments_of(person, current_user)
    if not commitments and not is_staff(current_user):
        abort(404)  # organizers only know officials with a public commitment
    staff = can_see_contact_details(current_user)
    contact_form = assign_form = None
    if staff:
        if phone_form is None:
            phone_form = PhoneEntryForm(formdata=None, occurred_on=today())
        phone_form.set_policy_choices(list_policies())
        contact_form = ContactForm(formdata=None, contacted_on=today())
        assign_form = AssignForm(formdata=None)
        assign_form.owner.choices = [SelectChoice("", "Nobody")] + [
            SelectChoice(str(u.id), u.name) for u in staff_members()
        ]
        assign_form.back.data = url_for("directory.official", official_id=official_id)
    return render_template(
        "directory/official.html",
        contact_form=contact_form,
        assign_form=assign_form,
        person=person,
        commitments=commitments,
        show_contacts=staff,
        contacts=contact_log(person.id) if staff else [],
        audit=entries_for("user", person.id) if staff else [],
        phone_form=phone_form,
    ), status


@bp.route("/<id:official_id>/by-phone", methods=["POST"])
@role_required(is_staff)
def record_by_phone(official_id: int):
    """Record a commitment, or a step forward, that the official told staff about by phone."""
    person = official_or_404(official_id)
    form = PhoneEntryForm()
    form.set_policy_choices(list_policies())
    if form.validate_on_submit():
        policy = get_policy_by_slug(form.policy.data)
        reported = Reported(
            stage=Stage(form.stage.data),
            on=form.occurred_on.data,
            visibility=Visibility(form.visibility.data),
            target_date=form.target_date.data,
            note=form.note.data,
        )
        try:
            if person.jurisdiction is not None:  # checked as imports and mail check it
                official_for(
                    email=person.email,
                    name=person.name,
                    jurisdiction=person.jurisdiction,
                    origin=AccountOrigin.STAFF,
                    actor=current_user,
                )
            done = record_on_behalf(
                person, policy, reported, recorded_by=current_user, source=Source()
            )
        except (AccountError, CommitmentError) as error:
            db.session.rollback()
            person = official_or_404(official_id)
            # A refused account (deactivated, another place) is said at the top of the form.
            fields = ("stage", "occurred_on", "target_date")
            target = form[error.field] if error.field in fields else form.policy
            target.errors = [*target.errors, str(error)]
        else:
            db.session.commit()
            if done.decision.writes:
                flash(
                    f"Recorded for {person.name}: {policy.short_title} is "
                    f"{done.commitment.stage.label.lower()}.",
                    "success",
                )
            else:
                flash(f"Nothing changed: {done.decision.reason}", "info")
            return redirect(url_for("directory.official", official_id=official_id))
    return _official_page(person, form, 422)


@bp.route("/<id:official_id>/invite", methods=["POST"])
@role_required(is_staff)
def invite(official_id: int):
    """Email an official who has not claimed their (imported) account a link to do so."""
    require_action_form()
    person = official_or_404(official_id)
    if not unclaimed([person]):
        flash(f"{person.name} has already claimed the account (or it is deactivated).", "error")
    else:
        email = person.email
        sent, _failed = send_invitations([person], current_user, save=db.session.commit)
        if sent:
            flash(f"Invitation sent to {email}.", "success")
        else:
            flash("The invitation could not be sent: the mail server refused it.", "error")
    return redirect(url_for("directory.official", official_id=official_id))


def list_policies() -> list[Policy]:
    """The catalog's policies in catalog order, for the phone entry's choice."""
    return list(db.session.scalars(select(Policy).order_by(Policy.priority_id, Policy.position)))
