"""The second factor's pages: the code step of sign-in, and enrolling an authenticator app.

Where REQUIRE_STAFF_SECOND_FACTOR is on, a signed-in staff member or admin without a factor
is sent to the enrolment page before any other page (`send_staff_to_enrol`).
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from campaign.accounts.second_factor import (
    SecondFactorError,
    check_code,
    confirm_enrolment,
    factor_of,
    is_required,
    pending_enrolment,
    recovery_codes_left,
)
from campaign.accounts.second_factor_forms import CodeForm, EnrolForm
from campaign.accounts.sessions import pending_sign_in, sign_in
from campaign.accounts.views import after_login_url
from campaign.extensions import db
from campaign.security import is_safe_redirect_target
from campaign.timeutil import utcnow

bp = Blueprint("second_factor", __name__)

# What an unenrolled staff member may still reach: enrolment itself, and the ways out.
ENROLMENT_EXEMPT = {
    "second_factor.enrol",
    "accounts.logout",
    "accounts.sign_out_everywhere",
    "static",
    "health.healthz",
}


@bp.before_app_request
def send_staff_to_enrol():
    """Staff and admins enrol before anything else, where the setting requires it."""
    if not current_app.config["REQUIRE_STAFF_SECOND_FACTOR"]:
        return None
    if request.endpoint is None or request.endpoint in ENROLMENT_EXEMPT:
        return None
    if not current_user.is_authenticated or not is_required(current_user):
        return None
    if factor_of(current_user) is not None:
        return None
    flash("Staff accounts need a second factor: set one up to continue.", "info")
    return redirect(url_for("second_factor.enrol"))


@bp.route("/login/code", methods=["GET", "POST"])
def verify():
    """The second step of sign-in, after the right password."""
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(after_login_url(next_url))
    pending = pending_sign_in()
    if pending is None:
        flash("Sign in with your password first: the code must follow it within minutes.", "info")
        safe_next = next_url if is_safe_redirect_target(next_url) else None
        return redirect(url_for("accounts.login", next=safe_next))
    user, remember = pending
    form = CodeForm()
    if form.validate_on_submit():
        try:
            kind = check_code(user, form.code.data)
        except SecondFactorError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            user.last_login_at = utcnow()
            sign_in(user, remember=remember)  # a fresh browser session: the pending step ends
            db.session.commit()
            if kind == "recovery":
                left = recovery_codes_left(user)
                flash(
                    f"You signed in with a recovery code; it cannot be used again. "
                    f"{left} {'code' if left == 1 else 'codes'} left. Lost your phone? "
                    "Ask an admin to reset your second factor.",
                    "info",
                )
            return redirect(after_login_url(next_url))
    status = 422 if request.method == "POST" else 200
    return render_template("second_factor/code.html", form=form), status


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def enrol():
    factor = factor_of(current_user)
    if factor is not None:
        if request.method == "POST":
            flash("Your account already has a second factor.", "info")
            return redirect(url_for(".enrol"))
        return render_template(
            "second_factor/status.html",
            factor=factor,
            codes_left=recovery_codes_left(current_user),
        )
    enrolment = pending_enrolment(current_user)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = confirm_enrolment(current_user, form.code.data)
        except SecondFactorError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            db.session.commit()
            # Shown in this response rather than after a redirect: the plain codes must not
            # wait in the session cookie. Reloading cannot show them again.
            return render_template("second_factor/recovery_codes.html", codes=codes)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "second_factor/enrol.html",
        form=form,
        enrolment=enrolment,
        required=is_required(current_user),
    ), status
