"""Admin pages: thin views over helpdesk.accounts; each request commits once."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response

from helpdesk import accounts, two_factor
from helpdesk.extensions import db
from helpdesk.models import ApiToken, User
from helpdesk.tickets import sla
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.forms import (
    EditUserForm,
    NewTokenForm,
    NewUserForm,
    ResetPasswordForm,
    SlaTargetsForm,
    TwoFactorPolicyForm,
)


@bp.get("/users")
@admin_required
def users() -> str:
    everyone = db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    policy_form = TwoFactorPolicyForm(required=two_factor.policy().require_admin_two_factor)
    db.session.commit()  # the policy row, made on first look
    return render_template("admin/users.html", users=everyone, policy_form=policy_form)


@bp.post("/users/two-factor-policy")
@admin_required
def two_factor_policy() -> Response:
    form = TwoFactorPolicyForm()
    if form.validate_on_submit():
        two_factor.set_required_for_admins(form.required.data)
        db.session.commit()
        required = "must use" if form.required.data else "may choose"
        flash(f"Admins {required} two-factor.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/two-factor/reset")
@admin_required
def reset_two_factor(user_id: int) -> Response:
    user = db.session.get(User, user_id) or abort(404)
    two_factor.turn_off(user)
    db.session.commit()
    flash(f"Two-factor is off for {user.name}; they log in with the password alone.", "success")
    return redirect(url_for("admin.edit_user", user_id=user.id))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_required
def new_user() -> str | Response:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data, form.password.data, form.role.data, form.name.data
            )
        except accounts.AccountError as refused:
            field = form.password if refused.field == "password" else form.email
            field.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"{user.name} can now log in as {user.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/new_user.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_required
def edit_user(user_id: int) -> str | Response:
    user = db.session.get(User, user_id) or abort(404)
    form = EditUserForm(obj=user)
    password_form = ResetPasswordForm(prefix="pw")
    if form.submit.data and form.validate_on_submit():
        try:
            accounts.update_user(
                user,
                name=form.name.data,
                role=form.role.data,
                active=form.active.data,
                actor=current_user,
            )
        except accounts.AccountError as refused:
            db.session.rollback()
            form.active.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/edit_user.html", user=user, form=form, password_form=password_form
    )


@bp.post("/users/<int:user_id>/password")
@admin_required
def reset_password(user_id: int) -> str | Response:
    user = db.session.get(User, user_id) or abort(404)
    password_form = ResetPasswordForm(prefix="pw")
    if password_form.validate_on_submit():
        try:
            accounts.reset_password(user, password_form.password.data)
        except accounts.AccountError as refused:
            password_form.password.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"New password set for {user.name}; their sessions have ended.", "success")
            return redirect(url_for("admin.edit_user", user_id=user.id))
    form = EditUserForm(obj=user, formdata=None)
    page = render_template(
        "admin/edit_user.html", user=user, form=form, password_form=password_form
    )
    return page, 400


@bp.route("/tokens", methods=["GET", "POST"])
@admin_required
def tokens() -> str | tuple[str, int]:
    form = NewTokenForm()
    form.offer_users(accounts.active_users())
    minted = None
    if form.validate_on_submit():
        user = db.session.get(User, int(form.user.data))
        expires = form.expires.data
        try:
            minted = accounts.mint_token(
                user,
                form.name.data,
                form.scope.data or None,
                expires and accounts.expiry_after(expires, current_app.config["HELPDESK_TIMEZONE"]),
            )
        except accounts.AccountError as refused:
            getattr(form, refused.field or "name").errors.append(str(refused))
        else:
            db.session.commit()
            form = NewTokenForm(formdata=None)
            form.offer_users(accounts.active_users())
    listed = db.session.scalars(
        select(ApiToken).options(joinedload(ApiToken.user)).order_by(ApiToken.created_at.desc())
    ).all()
    status = 400 if form.errors else 200
    return render_template("admin/tokens.html", form=form, tokens=listed, minted=minted), status


@bp.post("/tokens/<int:token_id>/revoke")
@admin_required
def revoke_token(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id) or abort(404)
    accounts.revoke_token(token)
    db.session.commit()
    flash(f"Token {token.name} is revoked; requests using it are refused.", "success")
    return redirect(url_for("admin.tokens"))


@bp.route("/sla", methods=["GET", "POST"])
@admin_required
def sla_targets() -> str | Response:
    form = SlaTargetsForm()
    if form.validate_on_submit():
        for stage, first_response, resolution in form.pairs():
            first, solve = (
                sla.parse_minutes(first_response.data),
                sla.parse_minutes(resolution.data),
            )
            sla.set_target(stage, first, solve)
        db.session.commit()
        flash("Targets saved; new and re-staged tickets get deadlines from them.", "success")
        return redirect(url_for("admin.sla_targets"))
    if not form.is_submitted():
        targets = sla.targets()
        for stage, first_response, resolution in form.pairs():
            target = targets.get(stage)
            first_response.data = sla.format_minutes(
                target.first_response_minutes if target else None
            )
            resolution.data = sla.format_minutes(target.resolution_minutes if target else None)
    hours = current_app.config["HELPDESK_BUSINESS_HOURS"] or "around the clock"
    return render_template("admin/sla.html", form=form, hours=hours)
