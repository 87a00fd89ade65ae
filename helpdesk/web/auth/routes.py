"""Login, logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from helpdesk import accounts
from helpdesk.extensions import db
from helpdesk.tickets import assignment
from helpdesk.web.access import safe_next
from helpdesk.web.auth import bp
from helpdesk.web.auth.forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data) or url_for("agent.home"))
    if form.validate_on_submit():
        user = accounts.user_by_email(form.email.data)
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user, remember=form.remember.data)
            assignment.start_session(user)
            db.session.commit()
            return redirect(safe_next(form.next.data) or url_for("agent.home"))
        # One message for an unknown address, a wrong password and a deactivated user alike,
        # so the form does not tell strangers which addresses have accounts.
        form.password.errors.append("Wrong email or password, or the account is deactivated.")
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        assignment.end_session(current_user)
        db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
