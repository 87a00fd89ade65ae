"""Customer resolution: one person behind every address, number and chat visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, IdentityKind
from helpdesk.tickets.errors import InvalidInput, TicketError


def normalize_email(address: str) -> str:
    address = address.strip()
    if "@" not in address or address.startswith("@") or address.endswith("@"):
        raise InvalidInput(f"not an email address: {address!r}")
    return address.lower()


def normalize_phone(number: str) -> str:
    """E.164; any *possible* number is accepted, since fictional +1555… numbers are not "valid"."""
    try:
        parsed = phonenumbers.parse(number.strip(), None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput(f"not a phone number in international format: {number!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidInput(f"not a possible phone number: {number!r}")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def identities_of(msg: InboundMessage) -> list[tuple[IdentityKind, str, bool]]:
    """(kind, normalised value, verified) for the sender, most trustworthy first."""
    if msg.channel == Channel.EMAIL:
        return [(IdentityKind.EMAIL, normalize_email(msg.sender), False)]
    if msg.channel == Channel.SMS:
        return [(IdentityKind.PHONE, normalize_phone(msg.sender), False)]
    found: list[tuple[IdentityKind, str, bool]] = []
    if msg.host_user_id:
        found.append((IdentityKind.HOST_USER, msg.host_user_id, True))
    found.append((IdentityKind.VISITOR, msg.sender, False))
    if msg.email:
        found.append((IdentityKind.EMAIL, normalize_email(msg.email), False))
    return found


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message, as far as we know them: their identities and whose they are."""

    wanted: list[tuple[IdentityKind, str, bool]]
    existing: dict[tuple[IdentityKind, str], CustomerIdentity]

    @property
    def customer(self) -> Customer | None:
        """The customer holding the most trustworthy of the identities; None for a stranger."""
        return next(
            (
                self.existing[(kind, value)].customer
                for kind, value, _ in self.wanted
                if (kind, value) in self.existing
            ),
            None,
        )


def look_up_sender(msg: InboundMessage) -> Sender:
    """The sender's identities and which of them we know; reads only."""
    wanted = identities_of(msg)
    existing = {
        (identity.kind, identity.value): identity
        for identity in db.session.scalars(
            select(CustomerIdentity)
            .options(joinedload(CustomerIdentity.customer))
            .where(
                # Both columns, so the (kind, value) index is used instead of a table scan.
                CustomerIdentity.kind.in_({kind for kind, _, _ in wanted}),
                CustomerIdentity.value.in_([value for _, value, _ in wanted]),
            )
        )
    }
    return Sender(wanted, existing)


def resolve_customer(msg: InboundMessage, sender: Sender) -> Customer:
    """The customer who sent this message, created on first contact; new identities are added.

    An identity already held by someone else is never moved: merging two people is an
    agent's decision, not something a typed-in address may cause.
    """
    customer = sender.customer or Customer(name=msg.sender_name)
    if customer.name is None and msg.sender_name:
        customer.name = msg.sender_name
    db.session.add(customer)
    for kind, value, verified in sender.wanted:
        if (kind, value) not in sender.existing:
            db.session.add(
                CustomerIdentity(customer=customer, kind=kind, value=value, verified=verified)
            )
    return customer


def phone_identity(number: str) -> CustomerIdentity | None:
    """The stored identity of a phone number in any format, if anyone has it."""
    try:
        value = normalize_phone(number)
    except InvalidInput:
        return None
    return db.session.scalar(
        select(CustomerIdentity).where(
            CustomerIdentity.kind == IdentityKind.PHONE, CustomerIdentity.value == value
        )
    )


def add_phone(customer: Customer, number: str) -> CustomerIdentity:
    """Put a phone number on a customer's profile, so their texts land on them."""
    value = normalize_phone(number)
    identity = phone_identity(value)
    if identity is not None and identity.customer_id != customer.id:
        raise TicketError(f"{value} already belongs to {identity.customer.display_name}")
    if identity is None:
        identity = CustomerIdentity(customer=customer, kind=IdentityKind.PHONE, value=value)
        db.session.add(identity)
        db.session.flush()
    return identity


def opted_out(number: str | None) -> CustomerIdentity | None:
    """The identity of a number that must not be texted, or None when it may be."""
    identity = phone_identity(number) if number else None
    return identity if identity is not None and identity.opted_out_at is not None else None


def set_opt_out(identity: CustomerIdentity, reason: str | None, at: datetime) -> bool:
    """Opt the number out (a reason) or back in (None); False when nothing changed."""
    if (identity.opted_out_at is not None) == (reason is not None):
        return False
    identity.opted_out_at = at if reason is not None else None
    identity.opt_out_reason = reason[:300] if reason is not None else None
    return True
