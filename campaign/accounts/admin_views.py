"""Admins manage accounts: roles, deactivation and second-factor resets, each audited."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select

from campaign.accounts.models import SecondFactor, User
from campaign.accounts.operations import AccountError, change_role, set_active
from campaign.accounts.roles import Role, can_manage_users
from campaign.accounts.second_factor import SecondFactorError, reset_second_factor
from campaign.extensions import db
from campaign.security import role_required
from campaign.validation import page_number, strip_line
from campaign.web.forms import require_action_form

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


@bp.route("/users")
@role_required(can_manage_users)
def users():
    search = strip_line(request.args.get("q") or "")[:80]
    role = request.args.get("role") if request.args.get("role") in {r.value for r in Role} else None
    stmt = select(User)
    if search:
        needle = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(func.lower(User.name).like(needle), User.email_normalized.like(needle))
        )
    if role:
        stmt = stmt.where(User.role == Role(role))
    page = db.paginate(
        stmt.order_by(User.name, User.id),
        page=page_number(request.args.get("page")),
        per_page=PAGE_SIZE,
        error_out=False,
    )
    with_factor = set(
        db.session.scalars(
            select(SecondFactor.user_id).where(SecondFactor.user_id.in_([u.id for u in page.items]))
        )
    )
    return render_template(
        "admin/users.html",
        page=page,
        search=search,
        role=role,
        roles_list=list(Role),
        with_factor=with_factor,
    )


@bp.route("/users/<id:user_id>", methods=["POST"])
@role_required(can_manage_users)
def update_user(user_id: int):
    user = db.get_or_404(User, user_id)
    require_action_form()
    new_role = request.form.get("role")
    try:
        if new_role:
            if new_role not in {r.value for r in Role}:
                abort(400)
            change_role(user, Role(new_role), current_user)
        if "active" in request.form:
            set_active(user, request.form["active"] == "1", current_user)
    except AccountError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Saved {user.name}.", "success")
    return redirect(
        url_for(".users", **{k: v for k, v in request.args.items() if k in ("q", "role", "page")})
    )


@bp.route("/users/<id:user_id>/second-factor/reset", methods=["POST"])
@role_required(can_manage_users)
def reset_factor(user_id: int):
    """A person lost their phone and their recovery codes: they sign in with the password
    once and set up a new factor. Audited; their sessions end."""
    user = db.get_or_404(User, user_id)
    require_action_form()
    try:
        reset_second_factor(user, current_user)
    except SecondFactorError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(f"Second factor of {user.name} reset; they are signed out everywhere.", "success")
    return redirect(
        url_for(".users", **{k: v for k, v in request.args.items() if k in ("q", "role", "page")})
    )
