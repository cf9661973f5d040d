"""Staff pages to bring a published list in: upload, column mapping, the dry run, the import.

They follow the spreadsheet import's pages (imports/views.py): the upload is kept as a
pending row, the mapping is confirmed once per header layout, the dry run lists every row
with its spreadsheet row number, and nothing is written to the layer until staff confirm.
"""

from __future__ import annotations

import hashlib
import json

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import func, select

from campaign.accounts.roles import is_staff
from campaign.catalog.models import Policy
from campaign.extensions import db
from campaign.imports.forms import mapping_form
from campaign.imports.spreadsheet import Sheet, SpreadsheetError, read_sheet
from campaign.layers.forms import LayerUploadForm
from campaign.layers.mapdata import layer_by_slug, layer_payload
from campaign.layers.models import (
    LayerAgreement,
    LayerSnapshot,
    LayerStatus,
    LayerUpload,
    ReferenceLayer,
    UploadStatus,
)
from campaign.layers.placement import Placement
from campaign.layers.snapshots import (
    FIELDS,
    LEAVE_UNPLACED,
    Change,
    LayerImportRefused,
    apply_snapshot,
    check_layer_mapping,
    find_layer,
    get_or_create_layer,
    guess_layer_mapping,
    plan_snapshot,
    remember_layer_mapping,
    saved_layer_mapping,
)
from campaign.security import allow_large_body, role_required
from campaign.timeutil import utcnow
from campaign.validation import strip_line
from campaign.web.forms import require_action_form

# Staff pages live under /staff/layers/; a layer's public map data under /map/layers/.
bp = Blueprint("layers", __name__)
STAFF = "/staff/layers"
SHOWN_PER_GROUP = 300


def _policy_choices() -> list[tuple[str, str]]:
    policies = db.session.scalars(select(Policy).order_by(Policy.position)).all()
    return [("", "Choose the policy")] + [(p.slug, p.short_title) for p in policies]


def _upload_form() -> LayerUploadForm:
    form = LayerUploadForm()
    form.policy.choices = _policy_choices()
    return form


@bp.route(STAFF + "/")
@role_required(is_staff)
def index():
    return _index_page(_upload_form())


def _index_page(form: LayerUploadForm, status: int = 200):
    layers = db.session.scalars(select(ReferenceLayer).order_by(ReferenceLayer.name)).all()
    snapshots = db.session.scalars(
        select(LayerSnapshot).order_by(LayerSnapshot.as_of.desc(), LayerSnapshot.id.desc())
    ).all()
    counts = dict(
        db.session.execute(
            select(LayerAgreement.layer_id, func.count(LayerAgreement.id))
            .where(LayerAgreement.ended_snapshot_id.is_(None))
            .group_by(LayerAgreement.layer_id)
        ).all()
    )
    uploads = db.session.scalars(
        select(LayerUpload).order_by(LayerUpload.created_at.desc(), LayerUpload.id.desc()).limit(30)
    ).all()
    page = render_template(
        "layers/index.html",
        form=form,
        layers=layers,
        snapshots=snapshots,
        counts=counts,
        uploads=uploads,
    )
    return page, status


@bp.route(STAFF + "/upload", methods=["POST"])
@role_required(is_staff)
@allow_large_body("IMPORT_MAX_UPLOAD_BYTES")
def upload():
    form = _upload_form()
    if not form.validate_on_submit():
        return _index_page(form, 422)
    policy = db.session.scalar(select(Policy).where(Policy.slug == form.policy.data))
    existing = find_layer(form.layer_name.data)
    if existing is not None and existing.policy_id != policy.id:
        form.layer_name.errors.append(
            f"The layer “{existing.name}” concerns “{existing.policy.short_title}”; choose that "
            "policy or another name."
        )
        return _index_page(form, 422)
    upload_file = form.file.data
    with upload_file.stream:
        data = upload_file.read()
    filename = strip_line(upload_file.filename or "")[:255] or "list"
    try:
        sheet = read_sheet(data, filename)
    except SpreadsheetError as error:
        form.file.errors.append(str(error))
        return _index_page(form, 422)
    row = LayerUpload(
        layer_name=form.layer_name.data,
        policy=policy,
        source_note=form.source_note.data or "",
        list_status=LayerStatus(form.list_status.data),
        as_of=form.as_of.data,
        status=UploadStatus.PENDING,
        filename=filename,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        uploaded_by=current_user,
        sheet_json=json.dumps(
            {"headers": sheet.headers, "rows": sheet.rows},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
    )
    known = saved_layer_mapping(sheet.headers)
    if known is not None:
        row.mapping_json = json.dumps(known)
    db.session.add(row)
    db.session.commit()
    if known is None:
        return redirect(url_for("layers.columns", upload_id=row.id))
    return redirect(url_for("layers.report", upload_id=row.id))


def _sheet_of(upload: LayerUpload) -> Sheet:
    if not upload.sheet_json:
        abort(409)
    data = json.loads(upload.sheet_json)
    return Sheet(data["headers"], [(n, cells) for n, cells in data["rows"]])


def _plan(upload: LayerUpload):
    return plan_snapshot(
        find_layer(upload.layer_name),
        upload.list_status,
        upload.as_of,
        _sheet_of(upload),
        upload.mapping,
        upload.choices,
    )


@bp.route(STAFF + "/<id:upload_id>/columns", methods=["GET", "POST"])
@role_required(is_staff)
def columns(upload_id: int):
    upload = db.get_or_404(LayerUpload, upload_id)
    if upload.status != UploadStatus.PENDING:
        return redirect(url_for("layers.report", upload_id=upload.id))
    sheet = _sheet_of(upload)
    form = mapping_form(sheet.headers, upload.mapping or guess_layer_mapping(sheet.headers), FIELDS)
    problems: list[str] = []
    if form.validate_on_submit():
        mapping = {f.name: (form[f.name].data or None) for f in FIELDS}
        problems = check_layer_mapping(mapping, sheet.headers)
        if not problems:
            if mapping != upload.mapping:
                upload.choices_json = None
            upload.mapping_json = json.dumps(mapping)
            remember_layer_mapping(sheet.headers, mapping)
            db.session.commit()
            return redirect(url_for("layers.report", upload_id=upload.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "_columns.html",
        filename=upload.filename,
        kind_plural="lists",
        form=form,
        fields=FIELDS,
        headers=sheet.headers,
        samples=[cells for _n, cells in sheet.rows[:3]],
        problems=problems,
    ), status


@bp.route(STAFF + "/<id:upload_id>")
@role_required(is_staff)
def report(upload_id: int):
    upload = db.get_or_404(LayerUpload, upload_id)
    if upload.status != UploadStatus.PENDING:
        return render_template("layers/result.html", upload=upload)
    if check_layer_mapping(upload.mapping, _sheet_of(upload).headers):
        return redirect(url_for("layers.columns", upload_id=upload.id))
    try:
        plan = _plan(upload)
    except LayerImportRefused as error:
        return render_template("layers/refused.html", upload=upload, message=str(error)), 409
    return render_template(
        "layers/dry_run.html",
        upload=upload,
        plan=plan,
        Placement=Placement,
        Change=Change,
        shown=SHOWN_PER_GROUP,
        choices=upload.choices,
        leave_unplaced=LEAVE_UNPLACED,
        new_layer=find_layer(upload.layer_name) is None,
    )


@bp.route(STAFF + "/<id:upload_id>/choices", methods=["POST"])
@role_required(is_staff)
def save_choices(upload_id: int):
    """Keep what staff picked for agencies needing a choice; import now if they asked."""
    require_action_form()
    upload = db.get_or_404(LayerUpload, upload_id)
    if upload.status != UploadStatus.PENDING:
        abort(409)
    try:
        plan = _plan(upload)
    except LayerImportRefused as error:
        flash(str(error), "error")
        return redirect(url_for("layers.report", upload_id=upload.id))
    choices = dict(upload.choices)
    for row in plan.importable:
        name = f"c{row.number}"
        if name not in request.form:
            continue
        value = request.form.get(name, "")
        allowed = {m.jurisdiction.key for m in row.candidates} | {LEAVE_UNPLACED}
        if value in allowed or (value and value == choices.get(row.choice_key)):
            choices[row.choice_key] = value
        elif value == "":
            choices.pop(row.choice_key, None)
    upload.choices_json = json.dumps(choices)
    if request.form.get("then") == "import":
        db.session.flush()
        return _apply(upload)
    db.session.commit()
    flash("Your choices are saved. Check the rows again below.", "success")
    return redirect(url_for("layers.report", upload_id=upload.id))


@bp.route(STAFF + "/<id:upload_id>/apply", methods=["POST"])
@role_required(is_staff)
def apply(upload_id: int):
    require_action_form()
    upload = db.get_or_404(LayerUpload, upload_id)
    if upload.status != UploadStatus.PENDING:
        abort(409)
    return _apply(upload)


def _apply(upload: LayerUpload):
    upload_id = upload.id
    try:
        claimed = db.session.execute(
            LayerUpload.__table__.update()
            .where(LayerUpload.id == upload.id, LayerUpload.status == UploadStatus.PENDING)
            .values(status=UploadStatus.APPLIED, applied_at=utcnow())
        ).rowcount
        if claimed != 1:
            raise LayerImportRefused("This list has already been imported or was cancelled.")
        layer = get_or_create_layer(upload.layer_name, upload.policy, upload.source_note)
        applied = apply_snapshot(
            layer,
            upload.list_status,
            upload.as_of,
            _sheet_of(upload),
            upload.mapping,
            upload.choices,
            current_user,
            upload.filename,
        )
    except LayerImportRefused as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("layers.report", upload_id=upload_id))
    db.session.refresh(upload, ["status", "applied_at"])
    plan = applied.plan
    counts = plan.placement_counts
    upload.summary_json = json.dumps(
        {
            "layer": layer.slug,
            "created": applied.created,
            "ended": applied.ended,
            "relisted": applied.relisted,
            "replaced": applied.replaced,
            "placed": counts[Placement.PLACED],
            "unplaced": counts[Placement.CHOOSE] + counts[Placement.UNPLACED],
            "failed": len(plan.failed),
            "placed_share": round(plan.placed_share, 4),
        }
    )
    upload.sheet_json = None
    db.session.commit()
    if applied.changed_nothing:
        flash("Imported: nothing changed (this list was already imported).", "success")
    else:
        flash(
            f"Imported: {applied.created} new agreements, {applied.ended} no longer listed, "
            f"{applied.relisted} listed again.",
            "success",
        )
    return redirect(url_for("layers.report", upload_id=upload_id))


@bp.route(STAFF + "/<id:upload_id>/cancel", methods=["POST"])
@role_required(is_staff)
def cancel(upload_id: int):
    require_action_form()
    upload = db.get_or_404(LayerUpload, upload_id)
    if upload.status == UploadStatus.PENDING:
        upload.status = UploadStatus.CANCELLED
        upload.sheet_json = None
        db.session.commit()
        flash(f"The import of {upload.filename} is cancelled; nothing was written.", "success")
    return redirect(url_for("layers.index"))


@bp.route("/map/layers/<slug:slug>.json")
def map_data(slug: str):
    """A layer's jurisdictions for the map overlay: public, as the lists are."""
    layer = layer_by_slug(slug)
    if layer is None:
        abort(404)
    return jsonify(layer_payload(layer))
