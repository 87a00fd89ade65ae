"""Each user's own Security page: two-factor on (with recovery codes, shown once) or off."""

from __future__ import annotations

from flask import flash, redirect, render_template, session, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from helpdesk import two_factor
from helpdesk.extensions import db
from helpdesk.web.auth import bp
from helpdesk.web.auth.forms import CodeForm

# The secret being set up lives in the (signed) session until a code confirms it.
SETUP = "two_factor_setup"


@bp.get("/account/security")
@login_required
def security() -> str:
    return _page(CodeForm())


@bp.post("/account/security/two-factor/start")
@login_required
def start_two_factor() -> str:
    session[SETUP] = two_factor.new_secret()
    return _page(CodeForm(formdata=None))


@bp.post("/account/security/two-factor")
@login_required
def confirm_two_factor() -> str | Response | tuple[str, int]:
    secret = session.get(SETUP)
    if secret is None:
        return redirect(url_for("auth.security"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = two_factor.turn_on(current_user, secret, form.code.data.strip())
        except two_factor.TwoFactorError as refused:
            form.code.errors.append(str(refused))
        else:
            db.session.commit()
            session.pop(SETUP)
            return render_template("auth/security.html", recovery_codes=codes, form=None)
    return _page(form), 400


@bp.post("/account/security/two-factor/off")
@login_required
def turn_off_two_factor() -> str | Response | tuple[str, int]:
    form = CodeForm()
    if form.validate_on_submit():
        if two_factor.accepts(current_user, form.code.data):
            two_factor.turn_off(current_user)
            db.session.commit()
            flash("Two-factor is off: the password alone logs you in.", "success")
            return redirect(url_for("auth.security"))
        form.code.errors.append("That code is not right: type the app's current code.")
    return _page(form), 400


def _page(form: CodeForm) -> str:
    secret = session.get(SETUP) if not current_user.has_two_factor else None
    return render_template(
        "auth/security.html",
        form=form,
        secret=secret,
        setup_uri=secret and two_factor.setup_uri(current_user, secret),
        codes_left=two_factor.recovery_codes_left(current_user),
        recovery_codes=None,
    )
