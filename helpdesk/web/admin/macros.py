"""Shared macros: admins write them for everyone; agents apply them and keep their own."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Macro
from helpdesk.tickets import service
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.agent.macro_forms import delete_macro as delete
from helpdesk.web.agent.macro_forms import macro_form, save_macro


@bp.route("/macros", methods=["GET", "POST"])
@admin_required
def macros() -> str | Response | tuple[str, int]:
    """The shared macros with how often each was used, and a form for a new one."""
    form = macro_form()
    if (made := save_macro(form, None)) is not None:
        flash(f"Shared macro “{made.name}” saved; every agent can apply it now.", "success")
        return redirect(url_for("admin.macros"))
    page = render_template(
        "admin/macros.html",
        form=form,
        macros=service.shared_macros(),
        edit="admin.macro",
        shared_editable=True,
    )
    return (page, 400) if form.errors else page


@bp.route("/macros/<int:macro_id>", methods=["GET", "POST"])
@admin_required
def macro(macro_id: int) -> str | Response | tuple[str, int]:
    found = _shared_or_404(macro_id)
    form = macro_form(found)
    if save_macro(form, None, found) is not None:
        flash(f"Shared macro “{found.name}” saved.", "success")
        return redirect(url_for("admin.macros"))
    page = render_template("admin/macro.html", form=form, macro=found)
    return (page, 400) if form.errors else page


@bp.post("/macros/<int:macro_id>/delete")
@admin_required
def delete_macro(macro_id: int) -> Response:
    name = delete(_shared_or_404(macro_id))
    flash(f"Shared macro “{name}” deleted.", "success")
    return redirect(url_for("admin.macros"))


def _shared_or_404(macro_id: int) -> Macro:
    """A shared macro; an agent's own macros are theirs, not the admins'."""
    found = db.session.get(Macro, macro_id)
    if found is None or not found.shared:
        abort(404)
    return found
