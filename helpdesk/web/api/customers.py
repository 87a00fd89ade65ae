"""API views of customers: the list, one customer, and what agents change on the record.

A customer merged into another answers as the customer it went into (its `id` says which);
writes to it are refused, since what was meant for it may not be meant for the other.
"""

from __future__ import annotations

from flask import request
from sqlalchemy.orm import selectinload

from helpdesk.extensions import db
from helpdesk.models import Customer
from helpdesk.tickets import customer_merges, customer_records, queries
from helpdesk.web.api import bp, customer_schemas, query_schemas, schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError
from helpdesk.web.api.openapi import operation


@bp.get("/customers")
@operation(
    "listCustomers",
    (200, schemas.CustomerPage, "One page of customers."),
    query=query_schemas.CustomerQuery,
)
def list_customers() -> schemas.CustomerPage:
    """Customers, newest first, paginated by cursor; customers merged into others left out"""
    query: query_schemas.CustomerQuery = request.context.query
    page = queries.customer_page(query.q or "", query.limit, query.cursor)
    return schemas.CustomerPage.model_validate(page, from_attributes=True)


@bp.post("/customers")
@operation(
    "createCustomer",
    (201, schemas.CustomerDetail, "The new customer."),
    (401, 409, 422),
    json=customer_schemas.NewCustomer,
)
def create_customer() -> tuple[schemas.CustomerDetail, int]:
    """Record a customer by hand, with email addresses and phone numbers; audited

    Each address or number is a claim until proven, as with `POST /customers/{id}/identities`.
    One another customer holds is refused with 409 `refused`, naming that customer in
    `error.details.customer`, and no customer is made. A customer needs a name or an identity
    (422 `invalid_input` else); a value that is no address or number answers 422.
    """
    body: customer_schemas.NewCustomer = request.context.json
    wanted = [(identity.kind, identity.value) for identity in body.identities]
    try:
        customer = customer_records.create_customer(body.name, wanted)
    except customer_records.IdentityTaken as taken:
        raise ApiError(409, "refused", str(taken), {"customer": taken.holder.id}) from None
    db.session.commit()
    return _detail(customer), 201


@bp.get("/customers/<int:customer_id>")
@operation("getCustomer", (200, schemas.CustomerDetail, "The customer."), (401, 404))
def get_customer(customer_id: int) -> schemas.CustomerDetail:
    """A customer with their identities, notes and tickets, newest first

    A customer merged into another answers as that customer: its `id` is the other one's.
    """
    return _detail(customer_merges.live_customer(_customer(customer_id)))


@bp.patch("/customers/<int:customer_id>")
@operation(
    "updateCustomer",
    (200, schemas.CustomerDetail, "The customer as changed."),
    (401, 404, 409, 412),
    json=customer_schemas.CustomerChanges,
)
def update_customer(customer_id: int) -> schemas.CustomerDetail:
    """Change a customer's name or notes; audited

    Only the fields sent are written. With `version`, nothing is written when the customer
    changed since (412 `stale`). A customer merged into another is refused (409 `refused`).
    """
    customer = _writable(customer_id)
    body: customer_schemas.CustomerChanges = request.context.json
    sent = body.model_fields_set
    change = customer_records.ProfileChange(
        name=body.name if "name" in sent else customer.name,
        notes=body.notes if "notes" in sent else customer.notes,
    )
    try:
        customer_records.edit_profile(customer, change, body.version)
    except customer_records.StaleCustomer as stale:
        raise ApiError(412, "stale", str(stale)) from None
    db.session.commit()
    return _detail(customer)


@bp.post("/customers/<int:customer_id>/identities")
@operation(
    "addCustomerIdentity",
    (201, schemas.CustomerDetail, "The customer with the identity added."),
    (401, 404, 409, 422),
    json=customer_schemas.NewIdentity,
)
def add_identity(customer_id: int) -> tuple[schemas.CustomerDetail, int]:
    """Add an email address or phone number to a customer, unverified until proven; audited

    An email address is proven when the customer opens the link the helpdesk mails to it, a
    phone number by an agent on the customer page. One another customer holds already is
    refused with 409 `refused`, naming that customer in `error.details.customer`: if they are
    one person, merge the two. A value that is no address or number answers 422.
    """
    customer = _writable(customer_id)
    body: customer_schemas.NewIdentity = request.context.json
    try:
        customer_records.add_identity(customer, body.kind, body.value)
    except customer_records.IdentityTaken as taken:
        raise ApiError(409, "refused", str(taken), {"customer": taken.holder.id}) from None
    db.session.commit()
    return _detail(customer), 201


@bp.delete("/customers/<int:customer_id>/identities/<int:identity_id>")
@operation(
    "removeCustomerIdentity",
    (200, schemas.CustomerDetail, "The customer without it."),
    (401, 404, 409, 422),
)
def remove_identity(customer_id: int, identity_id: int) -> schemas.CustomerDetail:
    """Take an identity off a customer; audited

    Refused with 422 `refused` while replies to one of the customer's open tickets go to it,
    and for a number that texted STOP (its row keeps texts from going to it).
    """
    customer = _writable(customer_id)
    identity = customer_records.identity_of(customer, identity_id)
    if identity is None:
        raise ApiError(404, "not_found", f"no identity with id {identity_id} on this customer")
    customer_records.remove_identity(identity)
    db.session.commit()
    return _detail(customer)


@bp.post("/customers/<int:customer_id>/merge")
@operation(
    "mergeCustomer",
    (200, schemas.CustomerDetail, "The customer merged into, with everything that moved."),
    (401, 404, 409),
    json=customer_schemas.CustomerMergeInto,
)
def merge_customer(customer_id: int) -> schemas.CustomerDetail:
    """Merge this customer into another; audited

    The other customer keeps their name (or takes this one's when they have none) and gets
    this one's tickets (with their surveys and chat conversations), identities and notes;
    "customer since" becomes the earlier first contact. Each moved ticket's version goes up by
    one. This customer stays as a pointer: reading it answers the other. Refused with 409
    `refused` when both are one, or either was merged already.
    """
    source = _customer(customer_id)
    body: customer_schemas.CustomerMergeInto = request.context.json
    target = _customer(body.into)
    try:
        customer_merges.merge_customers(source, target, api_user())
    except customer_merges.CustomerMergeRefused as refused:
        raise ApiError(409, "refused", str(refused)) from None
    db.session.commit()
    return _detail(target)


def _customer(customer_id: int) -> Customer:
    customer = db.session.get(Customer, customer_id, options=[selectinload(Customer.identities)])
    if customer is None:
        raise ApiError(404, "not_found", f"no customer with id {customer_id}")
    return customer


def _writable(customer_id: int) -> Customer:
    customer = _customer(customer_id)
    if customer.merged_into_id is not None:
        raise ApiError(
            409,
            "refused",
            f"customer {customer_id} was merged into customer {customer.merged_into_id}: "
            "change that one",
        )
    return customer


def _detail(customer: Customer) -> schemas.CustomerDetail:
    return schemas.CustomerDetail.of(customer, queries.customer_tickets(customer.id))
