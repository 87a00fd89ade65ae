"""Login, logout."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from helpdesk import logins
from helpdesk.extensions import db
from helpdesk.tickets import assignment
from helpdesk.web.access import safe_next
from helpdesk.web.auth import bp
from helpdesk.web.auth.forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data) or url_for("agent.home"))
    if form.validate_on_submit():
        try:
            user = logins.authenticate(
                form.email.data, form.password.data, request.remote_addr or "unknown"
            )
        except logins.LoginRefused as refused:
            db.session.commit()  # the failure counts although the login did not happen
            # One message for an unknown address, a wrong password and a deactivated user
            # alike, so the form does not tell strangers which addresses have accounts.
            form.password.errors.append(str(refused))
            page = render_template("auth/login.html", form=form)
            return (page, 429) if refused.throttled else page
        # A new session: nothing a visitor's cookie held before logging in carries over.
        session.clear()
        login_user(user, remember=form.remember.data)
        assignment.start_session(user)
        db.session.commit()
        return redirect(safe_next(form.next.data) or url_for("agent.home"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        assignment.end_session(current_user)
        db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
