"""Login (password, then a two-factor code where the user has it), logout."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from helpdesk import logins
from helpdesk.extensions import db
from helpdesk.models import User, utcnow
from helpdesk.tickets import assignment
from helpdesk.web.access import safe_next, user_for_session
from helpdesk.web.auth import bp
from helpdesk.web.auth.forms import CodeForm, LoginForm

# Between the password and the code: who, for how long, and where to go after.
PENDING = "pending_login"
PENDING_FOR = timedelta(minutes=5)


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response | tuple[str, int]:
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated:
        return redirect(safe_next(form.next.data) or url_for("agent.home"))
    if form.validate_on_submit():
        try:
            user = logins.authenticate(form.email.data, form.password.data, _address())
        except logins.LoginRefused as refused:
            db.session.commit()  # the failure counts although the login did not happen
            # One message for an unknown address, a wrong password and a deactivated user
            # alike, so the form does not tell strangers which addresses have accounts.
            form.password.errors.append(str(refused))
            return _refused_page("auth/login.html", form, refused)
        if not user.has_two_factor:
            return _logged_in(user, form.remember.data, form.next.data)
        db.session.commit()
        session.clear()
        session[PENDING] = {
            "user": user.get_id(),
            "remember": bool(form.remember.data),
            "next": safe_next(form.next.data) or "",
            "until": (utcnow() + PENDING_FOR).timestamp(),
        }
        return redirect(url_for("auth.login_code"))
    return render_template("auth/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code() -> str | Response | tuple[str, int]:
    pending = session.get(PENDING) or {}
    user = _pending_user(pending)
    if user is None:
        session.pop(PENDING, None)
        flash("Please log in again: the code was not entered in time.", "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            logins.confirm_code(user, form.code.data, _address())
        except logins.LoginRefused as refused:
            db.session.commit()
            form.code.errors.append(str(refused))
            return _refused_page("auth/code.html", form, refused)
        return _logged_in(user, pending["remember"], pending["next"])
    return render_template("auth/code.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        assignment.end_session(current_user)
        db.session.commit()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


def _logged_in(user: User, remember: bool, next_page: str | None) -> Response:
    logins.succeeded(user)
    # A new session: nothing a visitor's cookie held before logging in carries over.
    session.clear()
    login_user(user, remember=remember)
    assignment.start_session(user)
    db.session.commit()
    return redirect(safe_next(next_page) or url_for("agent.home"))


def _pending_user(pending: dict) -> User | None:
    if not pending or pending.get("until", 0) < utcnow().timestamp():
        return None
    return user_for_session(str(pending.get("user", "")))


def _refused_page(
    template: str, form: LoginForm | CodeForm, refused: logins.LoginRefused
) -> str | tuple[str, int]:
    page = render_template(template, form=form)
    return (page, 429) if refused.throttled else page


def _address() -> str:
    return request.remote_addr or "unknown"
