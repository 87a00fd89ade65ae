"""Macro pages of every agent (their own, and the shared ones to read) and the ticket page's
picker; admins keep the shared ones under /admin/macros."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Macro
from helpdesk.tickets import service, versions
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.forms import ApplyMacroForm, ComposeForm
from helpdesk.web.agent.macro_forms import delete_macro as delete
from helpdesk.web.agent.macro_forms import macro_form, save_macro
from helpdesk.web.agent.routes import _render_ticket, _thread_or_404

SHARED_ONLY_BY_ADMINS = "Shared macros are changed by admins, on the admin Macros page."


@bp.route("/macros", methods=["GET", "POST"])
@staff_required
def macros() -> str | Response | tuple[str, int]:
    """The agent's own macros and the shared ones, with how often each was used."""
    form = macro_form()
    if (made := save_macro(form, current_user)) is not None:
        flash(f"Macro “{made.name}” saved.", "success")
        return redirect(url_for("agent.macros"))
    listed = service.visible_macros(current_user)
    page = render_template(
        "agent/macros.html", form=form, macros=listed, edit="agent.macro", shared_editable=False
    )
    return (page, 400) if form.errors else page


@bp.route("/macros/<int:macro_id>", methods=["GET", "POST"])
@staff_required
def macro(macro_id: int) -> str | Response | tuple[str, int]:
    """Edit one's own macro; a shared one is shown to read (admins change it under /admin)."""
    found = _visible_or_404(macro_id)
    if found.shared:
        if request.method == "POST":
            flash(SHARED_ONLY_BY_ADMINS, "error")
            return redirect(url_for("agent.macro", macro_id=macro_id))
        return render_template("agent/macro.html", form=None, macro=found)
    form = macro_form(found)
    if save_macro(form, current_user, found) is not None:
        flash(f"Macro “{found.name}” saved.", "success")
        return redirect(url_for("agent.macros"))
    page = render_template("agent/macro.html", form=form, macro=found)
    return (page, 400) if form.errors else page


@bp.post("/macros/<int:macro_id>/delete")
@staff_required
def delete_macro(macro_id: int) -> Response:
    found = _visible_or_404(macro_id)
    if found.shared:
        flash(SHARED_ONLY_BY_ADMINS, "error")
        return redirect(url_for("agent.macros"))
    flash(f"Macro “{delete(found)}” deleted.", "success")
    return redirect(url_for("agent.macros"))


@bp.post("/tickets/<int:ticket_id>/macro")
@staff_required
def apply_macro(ticket_id: int) -> str | tuple[str, int]:
    """Apply a macro: its changes are made at once (an explicit act, like a PATCH without
    If-Match) and its text lands in the reply box, to edit and send."""
    picker = ApplyMacroForm()
    picker.offer(service.visible_macros(current_user))
    # Under the ticket's lock, as a properties save: no other writer slips in between.
    found = versions.lock(ticket_id)
    if found is None:
        abort(404)
    if not picker.validate_on_submit():
        db.session.rollback()
        return _render_ticket(_thread_or_404(ticket_id), ComposeForm(), picker=picker), 400
    chosen = service.visible_macro(current_user, int(picker.macro.data))
    try:
        text = service.apply_macro(chosen, found, current_user)
    except TicketError as refused:
        db.session.rollback()
        picker.macro.errors.append(str(refused))
        return _render_ticket(_thread_or_404(ticket_id), ComposeForm(), picker=picker), 400
    name = chosen.name
    db.session.commit()
    flash(f"Macro “{name}” applied; its text is in the reply box, not sent yet.", "success")
    compose = ComposeForm(formdata=None, data={"text": picker.reply_text(text)})
    return _render_ticket(_thread_or_404(ticket_id), compose)


def _visible_or_404(macro_id: int) -> Macro:
    found = service.visible_macro(current_user, macro_id)
    if found is None:
        abort(404)
    return found
