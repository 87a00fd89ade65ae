"""The admin Trash page: deleted tickets, who deleted them and when, and the days left."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Ticket
from helpdesk.tickets import queries, trash
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp


@bp.get("/trash")
@admin_required
def trash_page() -> tuple[str, int]:
    """Deleted tickets, newest first, each with its restore button."""
    try:
        page = queries.ticket_page(
            queries.TicketFilter(in_bin=Bin.TRASH),
            queries.DEFAULT_LIMIT,
            request.args.get("cursor") or None,
        )
    except queries.InvalidFilter as invalid:
        return render_template(
            "admin/trash.html", page=queries.Page([], None), error=str(invalid)
        ), 400
    return render_template(
        "admin/trash.html",
        page=page,
        error=None,
        days_left=trash.days_left,
        retention=trash.RETENTION_DAYS,
    ), 200


@bp.post("/trash/<int:ticket_id>/restore")
@admin_required
def restore_ticket(ticket_id: int) -> Response:
    """Take a ticket out of the trash, everything back as it was."""
    found = db.session.get(Ticket, ticket_id)
    if found is None:
        abort(404)
    number = found.number
    try:
        trash.restore(found, current_user)
    except TicketError as refused:
        db.session.rollback()
        flash(f"Not restored: {refused}.", "error")
        return redirect(url_for("admin.trash_page"))
    db.session.commit()
    flash(f"#{number} was restored: it is back where it was.", "success")
    return redirect(url_for("agent.ticket", ticket_id=ticket_id))
