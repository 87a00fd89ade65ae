"""Merging a ticket into another and splitting one, from the ticket page: each asks first when
it matters (customers that differ; what a split moves), then calls the ticket service."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Message, Ticket
from helpdesk.tickets import queries, service
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.forms import MergeForm, SplitForm
from helpdesk.web.agent.routes import _ticket_or_404


@bp.post("/tickets/<int:ticket_id>/merge")
@staff_required
def merge(ticket_id: int) -> str | Response | tuple[str, int]:
    """Merge into the ticket typed; when the customers differ, say what that means first."""
    source = _ticket_or_404(ticket_id)
    form = MergeForm()
    target = _target(form) if form.validate_on_submit() else None
    if target is not None:
        try:
            service.check_merge(source, target)
        except service.MergeRefused as refused:
            form.into.errors.append(f"{refused}.")
            target = None
    if target is None:
        return render_template("agent/merge.html", ticket=source, form=form), 400
    if source.customer_id != target.customer_id and form.confirm.data != "1":
        form.confirm.data = "1"
        return render_template("agent/merge.html", ticket=source, target=target, form=form)
    numbers = source.number, target.number
    target_id = target.id
    service.merge(source, target, current_user)
    db.session.commit()
    flash(f"#{numbers[0]} was merged into #{numbers[1]}.", "success")
    return redirect(url_for("agent.ticket", ticket_id=target_id))


def _target(form: MergeForm) -> Ticket | None:
    """The ticket whose number was typed; None with a message next to the box."""
    number = form.number()
    if number is None:
        return None
    found = queries.ticket_numbered(number)
    if found is None:
        form.into.errors.append(f"There is no ticket #{number}.")
    return found


@bp.post("/tickets/<int:ticket_id>/split")
@staff_required
def split(ticket_id: int) -> str | Response | tuple[str, int]:
    """Split at a message: first show what stays and what moves, then make the new ticket."""
    ticket = _ticket_or_404(ticket_id)
    form = SplitForm()
    if not form.validate_on_submit():
        abort(400)
    message = db.session.get(Message, form.message_id.data)
    if message is None or message.ticket_id != ticket.id:
        abort(404)
    try:
        kept, moved = service.split_parts(ticket, message)
    except service.MergeRefused as refused:
        flash(f"Not split: {refused}.", "error")
        return redirect(
            url_for("agent.ticket", ticket_id=ticket_id, _anchor=f"message-{message.id}")
        )
    if form.confirm.data != "1":
        form.confirm.data = "1"
        return render_template("agent/split.html", ticket=ticket, form=form, kept=kept, moved=moved)
    part = service.split(ticket, message, current_user)
    number, part_id = ticket.number, part.id
    db.session.commit()
    flash(f"Split from #{number}: this ticket took the message and those after it.", "success")
    return redirect(url_for("agent.ticket", ticket_id=part_id))
