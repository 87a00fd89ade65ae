"""``POST /api/v1/tickets``: start a conversation with a customer, or record their request."""

from __future__ import annotations

from flask import g, request
from werkzeug.http import quote_etag

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Customer, Endpoint, IdentityKind, StageSource
from helpdesk.tickets import outreach, queries, versions
from helpdesk.tickets.endpoints import find_endpoint
from helpdesk.tickets.errors import InvalidInput
from helpdesk.web.api import bp, schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError, invalid
from helpdesk.web.api.new_ticket_schemas import CustomerByEmail, CustomerByPhone, NewTicket
from helpdesk.web.api.openapi import operation


@bp.post("/tickets")
@operation(
    "createTicket",
    (201, schemas.Ticket, "The new ticket, with its first message."),
    (401, 404, 409, 422),
    json=NewTicket,
    response_headers={"ETag": 'The ticket\'s version, `"<id>-<version>"`.'},
)
def create_ticket() -> tuple[schemas.Ticket, int, dict[str, str]]:
    """Start a conversation with a customer, or record a request they made elsewhere

    `outbound: true` sends `text` to the customer by email or SMS: a proactive ticket
    (`proactive: true`, `pending` until they answer) whose opening message is queued at the
    endpoint's outreach rate; their answer threads onto it. It owes no first response until
    the customer has answered and an agent replied. An email carries an unsubscribe link and
    `List-Unsubscribe`. Refused with 409 `opted-out` when the number texted STOP or the address
    unsubscribed from outreach. `outbound: false` records `text` as the customer's message on a
    new ticket (a reactive request, taken on their behalf). A customer given by email or phone
    is found by that proven identity, or created with it. 404 for an unknown customer id.
    """
    body: NewTicket = request.context.json
    user = api_user()
    customer = _customer(body.customer)
    draft = outreach.Draft(
        customer,
        Channel(body.channel),
        body.text,
        subject=body.subject,
        stage=body.stage,
        to=body.to,
        endpoint=_endpoint(Channel(body.channel), body.endpoint),
        source=StageSource.API,
    )
    if body.outbound:
        try:
            started = outreach.start_conversation(draft, user, token=g.get("api_token"))
        except outreach.OptedOut as refused:
            raise ApiError(409, "opted-out", str(refused)) from None
    else:
        started = outreach.take_on_behalf(draft, user)
    db.session.commit()
    ticket = queries.ticket_with_thread(started.id)
    return schemas.Ticket.of(ticket), 201, {"ETag": quote_etag(versions.etag(ticket))}


def _customer(given: int | CustomerByEmail | CustomerByPhone) -> Customer:
    if isinstance(given, int):
        customer = db.session.get(Customer, given)
        if customer is None:
            raise ApiError(404, "not_found", f"no customer with id {given}")
        return customer
    kind, field = (
        (IdentityKind.EMAIL, "email")
        if isinstance(given, CustomerByEmail)
        else (IdentityKind.PHONE, "phone")
    )
    try:
        return outreach.customer_for(kind, getattr(given, field), given.name)
    except InvalidInput as unfit:
        raise invalid(f"customer.{field}: {unfit}", f"customer.{field}") from None


def _endpoint(channel: Channel, address: str | None) -> Endpoint | None:
    if address is None:
        return None
    try:
        endpoint = find_endpoint(channel, address)
    except InvalidInput as unfit:
        raise invalid(f"endpoint: {unfit}", "endpoint") from None
    if endpoint is None:
        raise invalid(f"endpoint: no {channel.value} endpoint {address}", "endpoint")
    return endpoint
