"""Sign-up, sign-in, sign-out, and the account page: profile, password and signed-in devices."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from campaign.accounts.confirmation import sign_up
from campaign.accounts.forms import ChangePasswordForm, LoginForm, ProfileForm, SignupForm
from campaign.accounts.operations import (
    AccountError,
    authenticate,
    change_password,
    update_profile,
)
from campaign.accounts.roles import can_make_commitments
from campaign.accounts.second_factor import begin_sign_in, has_second_factor
from campaign.accounts.sessions import (
    SessionNotFound,
    live_sessions,
    revoke_session,
    revoke_sessions,
    sign_out,
)
from campaign.database.sqlite import end_transaction_before_slow_work
from campaign.extensions import db
from campaign.places.forms import resolve_picker
from campaign.places.matching import STATES
from campaign.places.models import Jurisdiction, JurisdictionKind
from campaign.places.operations import add_local_body
from campaign.security import is_safe_redirect_target
from campaign.web.forms import ActionForm, require_action_form

bp = Blueprint("accounts", __name__)

BODY_KINDS = {JurisdictionKind.SCHOOL_DISTRICT.value, JurisdictionKind.OTHER.value}
INVALID_CREDENTIALS = "That email and password do not match an account."


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    """Not signed in afterwards: a new and a known address get the same answer, the same
    cookies and (mail after the response) the same time; the email says which it was."""
    if current_user.is_authenticated:
        return redirect(url_for("pages.home"))
    form = SignupForm()
    if form.validate_on_submit():
        jurisdiction = _signup_jurisdiction(form)
        if jurisdiction is not None:
            try:
                outcome = sign_up(
                    email=form.email.data,
                    name=form.name.data,
                    password=form.password.data,
                    office_title=form.office_title.data,
                    jurisdiction=jurisdiction,
                )
            except AccountError as error:
                getattr(form, error.field or "email").errors.append(str(error))
            else:
                if outcome.created is None:
                    db.session.rollback()  # a body the form described stays unwritten too
                else:
                    db.session.commit()
                outcome.mail.send_after_response()
                return redirect(url_for("confirmation.sent"))
        db.session.rollback()
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/signup.html", form=form), status


def _signup_jurisdiction(form: SignupForm) -> Jurisdiction | None:
    """A gazetteer row, or a new unconfirmed body when the official describes one."""
    if not form.body_name.data:
        return resolve_picker(form, "jurisdiction")
    if form.body_state.data not in STATES:
        form.body_state.errors.append("Choose the state your body is in.")
        return None
    if form.body_kind.data not in BODY_KINDS:
        form.body_kind.errors.append("Choose what kind of body it is.")
        return None
    near = resolve_picker(form, "near")
    if near is None:
        if not form.near.errors:
            form.near.errors.append("Enter the city or town your body is in or nearest to.")
        return None
    if near.state != form.body_state.data:
        form.near.errors.append(f"{near.label} is not in the state you chose.")
        return None
    return add_local_body(
        name=form.body_name.data,
        kind=JurisdictionKind(form.body_kind.data),
        state=form.body_state.data,
        near=near,
    )


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = request.args.get("next")
    if current_user.is_authenticated:
        return redirect(after_login_url(next_url))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(
            form.email.data, form.password.data, before_hashing=end_transaction_before_slow_work
        )
        if user is not None:
            signed_in = begin_sign_in(user, remember=form.remember.data)
            db.session.commit()
            if signed_in:
                return redirect(after_login_url(next_url))
            return redirect(code_step_url(next_url))  # the account has a second factor
        form.password.errors.append(INVALID_CREDENTIALS)
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/login.html", form=form), status


def code_step_url(next_url: str | None) -> str:
    """The second step of signing in, passing on a safe `next` only."""
    return url_for(
        "second_factor.verify", next=next_url if is_safe_redirect_target(next_url) else None
    )


def after_login_url(next_url: str | None) -> str:
    """Where a sign-in lands: a safe `next`, else the person's own starting page."""
    if is_safe_redirect_target(next_url):
        return next_url
    if can_make_commitments(current_user):
        return url_for("commitments.mine")
    return url_for("pages.home")


@bp.route("/logout", methods=["POST"])
def logout():
    if ActionForm().validate_on_submit():
        sign_out(current_user)
        db.session.commit()
        flash("You are signed out.", "info")
    return redirect(url_for("pages.home"))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        update_profile(
            current_user,
            name=form.name.data,
            office_title=form.office_title.data,
            phone=form.phone.data,
        )
        db.session.commit()
        flash("Your profile is saved.", "success")
        return redirect(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return _account_page(form, ChangePasswordForm(formdata=None), status)


@bp.route("/account/password", methods=["POST"], endpoint="change_password")
@login_required
def change_password_view():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            change_password(current_user, form.current_password.data, form.password.data)
        except AccountError as error:
            db.session.rollback()
            getattr(form, error.field or "password").errors.append(str(error))
        else:
            db.session.commit()
            flash("Your password is changed, and you are signed out on other devices.", "success")
            return redirect(url_for("accounts.profile"))
    return _account_page(ProfileForm(obj=current_user, formdata=None), form, 422)


def _account_page(profile_form: ProfileForm, password_form: ChangePasswordForm, status: int):
    return render_template(
        "accounts/profile.html",
        form=profile_form,
        password_form=password_form,
        sessions=live_sessions(current_user),
        this_session=current_user.current_session,
        has_second_factor=has_second_factor(current_user),
    ), status


@bp.route("/account/sessions/<id:session_id>/revoke", methods=["POST"], endpoint="revoke_session")
@login_required
def revoke_session_view(session_id: int):
    require_action_form()
    this_device = session_id == current_user.current_session.id
    try:
        browser = revoke_session(current_user, session_id).browser
    except SessionNotFound:
        abort(404)
    if this_device:
        sign_out(current_user)
    db.session.commit()
    if this_device:
        flash("You are signed out.", "info")
        return redirect(url_for("pages.home"))
    flash(f"Signed out {browser}.", "success")
    return redirect(url_for("accounts.profile"))


@bp.route("/account/sessions/revoke-all", methods=["POST"])
@login_required
def sign_out_everywhere():
    require_action_form()
    revoke_sessions(current_user)
    sign_out(current_user)
    db.session.commit()
    flash("You are signed out on every device, this one included.", "info")
    return redirect(url_for("accounts.login"))
