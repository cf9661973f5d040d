"""Staff pages to bring history in: uploads, column mapping, the dry run, and the import."""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

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
from werkzeug.utils import secure_filename

from campaign.accounts.invitations import send_invitations, unclaimed_by_ids
from campaign.accounts.roles import is_staff
from campaign.audit.operations import record_export
from campaign.commitments.models import Commitment, TimelineEntry
from campaign.extensions import db
from campaign.imports.forms import MailboxUploadForm, SpreadsheetUploadForm, mapping_form
from campaign.imports.models import ImportBatch, ImportKind, ImportStatus
from campaign.imports.sheets import (
    UNDATED_CHOICES,
    Action,
    ImportRefused,
    apply_plan,
    batch_day,
    check_mapping,
    plan_rows,
    remember_mapping,
    saved_mapping,
    sheet_of,
    store_sheet,
)
from campaign.imports.spreadsheet import FIELDS, SpreadsheetError, guess_mapping, read_sheet
from campaign.imports.triage import import_mailbox
from campaign.security import allow_large_body, role_required
from campaign.validation import strip_line
from campaign.web.exports import csv_response
from campaign.web.forms import require_action_form

bp = Blueprint("imports", __name__, url_prefix="/staff/imports")
SHOWN_PER_GROUP = 300


@bp.route("/")
@role_required(is_staff)
def index():
    return _index_page(SpreadsheetUploadForm(), MailboxUploadForm())


def _index_page(sheet_form, mailbox_form, status: int = 200):
    batches = db.session.scalars(
        select(ImportBatch).order_by(ImportBatch.created_at.desc(), ImportBatch.id.desc()).limit(50)
    ).all()
    page = render_template(
        "imports/index.html", batches=batches, sheet_form=sheet_form, mailbox_form=mailbox_form
    )
    return page, status


@bp.route("/spreadsheet", methods=["POST"])
@role_required(is_staff)
@allow_large_body("IMPORT_MAX_UPLOAD_BYTES")
def upload_spreadsheet():
    form = SpreadsheetUploadForm()
    if not form.validate_on_submit():
        return _index_with_errors(sheet_form=form)
    upload = form.file.data
    with upload.stream:
        data = upload.read()
    filename = strip_line(upload.filename or "")[:255] or "spreadsheet"
    try:
        sheet = read_sheet(data, filename)
    except SpreadsheetError as error:
        form.file.errors.append(str(error))
        return _index_with_errors(sheet_form=form)
    digest = hashlib.sha256(data).hexdigest()
    earlier = db.session.scalar(
        select(ImportBatch).where(
            ImportBatch.sha256 == digest, ImportBatch.status == ImportStatus.APPLIED
        )
    )
    batch = ImportBatch(
        kind=ImportKind.SPREADSHEET,
        status=ImportStatus.PENDING,
        filename=filename,
        sha256=digest,
        size=len(data),
        uploaded_by=current_user,
    )
    store_sheet(batch, sheet)
    known = saved_mapping(sheet.headers)
    if known is not None:
        batch.mapping_json = json.dumps(known)
    db.session.add(batch)
    db.session.commit()
    if earlier is not None:
        flash(
            f"This exact file was imported on {earlier.applied_at:%B %d, %Y}. The dry run "
            "below shows what a second import would change (normally nothing).",
            "info",
        )
    if known is None:
        return redirect(url_for("imports.columns", batch_id=batch.id))
    return redirect(url_for("imports.report", batch_id=batch.id))


@bp.route("/mailbox", methods=["POST"])
@role_required(is_staff)
@allow_large_body("IMPORT_MAX_UPLOAD_BYTES")
def upload_mailbox():
    """Save the uploaded files in a private temporary folder and import them as one mailbox."""
    form = MailboxUploadForm()
    uploads = [f for f in (form.files.data or []) if getattr(f, "filename", "")]
    if not form.validate_on_submit() or not uploads:
        if not uploads:
            form.files.errors = [*form.files.errors, "Choose the mailbox file(s) to import."]
        return _index_with_errors(mailbox_form=form)
    with tempfile.TemporaryDirectory(prefix="campaign-mail-") as folder:
        root = Path(folder)
        if len(uploads) == 1:
            name = secure_filename(uploads[0].filename) or "mailbox"
            target = root / name
            uploads[0].save(target)
            display = strip_line(uploads[0].filename)[:200] or "mailbox"
        else:
            target = root / "upload"
            target.mkdir()
            for number, upload in enumerate(uploads, start=1):
                name = secure_filename(upload.filename) or "message.eml"
                upload.save(target / f"{number:05d}-{name}")
            display = f"{len(uploads)} files ({strip_line(uploads[0].filename)[:100]}, …)"
        batch, report = import_mailbox(target, current_user, display)
        db.session.commit()
    flash(
        f"{report.added} new messages to triage; {report.already_imported} were already "
        f"imported; {len(report.rejected)} could not be read.",
        "success" if not report.rejected else "info",
    )
    return redirect(url_for("imports.report", batch_id=batch.id))


def _index_with_errors(*, sheet_form=None, mailbox_form=None):
    """The imports page again, with the refused upload form's messages (422)."""
    return _index_page(
        sheet_form or SpreadsheetUploadForm(formdata=None),
        mailbox_form or MailboxUploadForm(formdata=None),
        422,
    )


def _pending_spreadsheet(batch_id: int) -> ImportBatch:
    batch = db.get_or_404(ImportBatch, batch_id)
    if batch.kind != ImportKind.SPREADSHEET:
        abort(404)
    return batch


@bp.route("/<id:batch_id>/columns", methods=["GET", "POST"])
@role_required(is_staff)
def columns(batch_id: int):
    batch = _pending_spreadsheet(batch_id)
    if batch.status != ImportStatus.PENDING:
        return redirect(url_for("imports.report", batch_id=batch.id))
    sheet = sheet_of(batch)
    form = mapping_form(sheet.headers, batch.mapping or guess_mapping(sheet.headers))
    problems: list[str] = []
    if form.validate_on_submit():
        mapping = {f.name: (form[f.name].data or None) for f in FIELDS}
        problems = check_mapping(mapping, sheet.headers)
        if not problems:
            if mapping != batch.mapping:
                batch.choices_json = None  # choices were made for what the old columns said
            batch.mapping_json = json.dumps(mapping)
            remember_mapping(sheet.headers, mapping)
            db.session.commit()
            return redirect(url_for("imports.report", batch_id=batch.id))
    samples = [cells for _n, cells in sheet.rows[:3]]
    status = 422 if request.method == "POST" else 200
    return render_template(
        "_columns.html",
        filename=batch.filename,
        kind_plural="files",
        form=form,
        fields=FIELDS,
        headers=sheet.headers,
        samples=samples,
        problems=problems,
    ), status


@bp.route("/<id:batch_id>")
@role_required(is_staff)
def report(batch_id: int):
    batch = db.get_or_404(ImportBatch, batch_id)
    if batch.kind == ImportKind.MAILBOX:
        return render_template("imports/mailbox_report.html", batch=batch)
    if batch.status != ImportStatus.PENDING:
        invitees = unclaimed_by_ids(_officials_of(batch))
        return render_template("imports/result.html", batch=batch, invitees=invitees)
    sheet = sheet_of(batch)
    if check_mapping(batch.mapping, sheet.headers):
        return redirect(url_for("imports.columns", batch_id=batch.id))
    plan = plan_rows(sheet, batch.mapping, batch.choices, batch_date=batch_day(batch))
    return render_template(
        "imports/dry_run.html",
        batch=batch,
        plan=plan,
        Action=Action,
        shown=SHOWN_PER_GROUP,
        choices=batch.choices,
        undated_choices=UNDATED_CHOICES,
        batch_date=batch_day(batch),
    )


@bp.route("/<id:batch_id>/report.csv")
@role_required(is_staff)
def report_csv(batch_id: int):
    """Every row and what happens (or happened) to it, for fixing the sheet in Excel."""
    batch = _pending_spreadsheet(batch_id)
    header = ["Row", "Outcome", "Reason", "Email", "Jurisdiction", "Policy", "Stage"]
    if batch.status == ImportStatus.PENDING:
        plan = plan_rows(sheet_of(batch), batch.mapping, batch.choices, batch_date=batch_day(batch))
        rows = [
            [
                r.number,
                r.action.label,
                " ".join([r.reason, *r.notes]).strip(),
                r.email,
                r.jurisdiction.label if r.jurisdiction else r.jurisdiction_text,
                r.policy.short_title if r.policy else r.policy_text,
                r.stage.label,
            ]
            for r in plan.rows
        ]
    else:
        rows = [
            [r["row"], Action(r["action"]).label, r["reason"], r["email"], "", "", ""]
            for r in batch.summary.get("rows", [])
        ]
    # Each row names an official's email address: the download is audited like the others.
    record_export(current_user, "import_report", batch, filters={"batch": batch.id}, rows=len(rows))
    db.session.commit()
    return csv_response(f"import-{batch.id}-report.csv", header, rows)


@bp.route("/<id:batch_id>/choices", methods=["POST"])
@role_required(is_staff)
def save_choices(batch_id: int):
    """Keep what staff picked for each loose spelling; import now if they pressed Import."""
    require_action_form()
    batch = _pending_spreadsheet(batch_id)
    if batch.status != ImportStatus.PENDING:
        abort(409)
    plan = plan_rows(sheet_of(batch), batch.mapping, batch.choices, batch_date=batch_day(batch))
    choices = dict(batch.choices)
    if request.form.get("undated") in UNDATED_CHOICES:
        choices["undated"] = request.form["undated"]  # once for the whole file
    for group in plan.choices_needed():
        value = request.form.get(group.name, "")
        if value in group.allowed:
            choices[group.name] = value  # for every row with this spelling
            for row in group.rows:
                choices.pop(f"{group.name[0]}{row.number}", None)
        elif value == "":
            choices.pop(group.name, None)
    batch.choices_json = json.dumps(choices)
    if request.form.get("then") == "import":
        db.session.flush()  # same transaction: on SQLite it keeps the write lock it took
        return _apply(batch)
    db.session.commit()
    flash("Your choices are saved. Check the rows again below.", "success")
    return redirect(url_for("imports.report", batch_id=batch.id))


@bp.route("/<id:batch_id>/apply", methods=["POST"])
@role_required(is_staff)
def apply(batch_id: int):
    require_action_form()
    return _apply(_pending_spreadsheet(batch_id))


def _apply(batch: ImportBatch):
    try:
        plan = apply_plan(batch, current_user)
    except ImportRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("imports.report", batch_id=batch.id))
    db.session.commit()
    counts = plan.counts
    flash(
        f"Imported: {counts[Action.CREATE]} commitments created, {counts[Action.UPDATE]} "
        f"updated, {counts[Action.SKIP]} already present.",
        "success",
    )
    return redirect(url_for("imports.report", batch_id=batch.id))


@bp.route("/<id:batch_id>/cancel", methods=["POST"])
@role_required(is_staff)
def cancel(batch_id: int):
    require_action_form()
    batch = _pending_spreadsheet(batch_id)
    if batch.status == ImportStatus.PENDING:
        batch.status = ImportStatus.CANCELLED
        batch.sheet_json = None
        db.session.commit()
        flash(f"The import of {batch.filename} is cancelled; nothing was written.", "success")
    return redirect(url_for("imports.index"))


@bp.route("/<id:batch_id>/invitations", methods=["POST"])
@role_required(is_staff)
def invite(batch_id: int):
    """Email each official this import created (and who has not claimed yet) their link."""
    require_action_form()
    batch = db.get_or_404(ImportBatch, batch_id)
    batch_id = batch.id
    sent, failed = send_invitations(
        unclaimed_by_ids(_officials_of(batch)), current_user, save=db.session.commit
    )
    if failed:
        flash(f"{sent} invitations sent; {failed} could not be sent (mail server).", "error")
    else:
        flash(f"{sent} invitations sent.", "success")
    return redirect(url_for("imports.report", batch_id=batch_id))


def _officials_of(batch: ImportBatch) -> set[int]:
    stmt = (
        select(Commitment.official_id)
        .join(TimelineEntry, TimelineEntry.commitment_id == Commitment.id)
        .where(TimelineEntry.import_batch_id == batch.id)
        .distinct()
    )
    return set(db.session.scalars(stmt))
