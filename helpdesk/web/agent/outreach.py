"""Starting a conversation with a customer from their page (one to one)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field

from helpdesk.extensions import db
from helpdesk.models import Customer, Ticket
from helpdesk.tickets import outreach
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.outreach_forms import CHANNEL_OF, PREFIX, OutreachForm


@bp.app_template_global()
def outreach_form_for(customer: Customer) -> OutreachForm:
    """The empty "Start a conversation" form for the customer page's card."""
    return OutreachForm(formdata=None, prefix=PREFIX).offer(customer)


@bp.route("/customers/<int:customer_id>/outreach", methods=["GET", "POST"])
@staff_required
def start_outreach(customer_id: int) -> str | Response | tuple[str, int]:
    """Write to the customer first: a new proactive ticket, assigned to the writer."""
    customer = db.session.get(Customer, customer_id) or abort(404)
    form = OutreachForm(prefix=PREFIX).offer(customer)
    if form.validate_on_submit() and (ticket := _start(form, customer)) is not None:
        db.session.commit()
        flash(f"Conversation started: #{ticket.number}. Their answer comes back here.", "success")
        return redirect(url_for("agent.ticket", ticket_id=ticket.id))
    page = render_template("agent/outreach.html", customer=customer, form=form)
    return (page, 400) if form.errors else page


def _start(form: OutreachForm, customer: Customer) -> Ticket | None:
    """The conversation started, or None with the refusal next to the field at fault."""
    identity = form.chosen_identity(customer)
    try:
        draft = outreach.Draft(
            customer,
            CHANNEL_OF[identity.kind],
            form.text.data,
            subject=form.subject.data,
            stage=form.chosen_stage(),
            to=identity.value,
            endpoint=form.chosen_endpoint(),
        )
        return outreach.start_conversation(draft, current_user, keep=True)
    except TicketError as refused:
        db.session.rollback()
        _field_at_fault(form, refused).errors.append(str(refused))
        return None


def _field_at_fault(form: OutreachForm, refused: TicketError) -> Field:
    if isinstance(refused, outreach.OptedOut):
        return form.to
    if "subject" in str(refused):
        return form.subject
    if "send from" in str(refused):
        return form.sender
    return form.text
