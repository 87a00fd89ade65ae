"""Customer resolution: one person behind every address, number and chat visitor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import phonenumbers
from flask import current_app
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, IdentityKind, utcnow
from helpdesk.tickets.errors import InvalidInput, TicketError

_POSSIBLE = phonenumbers.ValidationResult.IS_POSSIBLE

_NAME_LENGTH = Customer.__table__.c.name.type.length


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


def typed_phone(text: str) -> str | None:
    """The E.164 form of a number typed any common way, or None when ``text`` is not one.

    National numbers ("(555) 010-1234") are read in HELPDESK_PHONE_REGION. Unlike
    ``normalize_phone`` a local-only number (no area code) is refused: it names no one line.
    """
    try:
        parsed = phonenumbers.parse(text, current_app.config["HELPDESK_PHONE_REGION"])
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_possible_number_with_reason(parsed) != _POSSIBLE:
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def identities_of(msg: InboundMessage) -> list[tuple[IdentityKind, str, bool]]:
    """(kind, normalised value, proven) for the sender, most trustworthy first.

    The message proves where it came from (a mail's sender, a text's number, the chat visitor
    our signed token names, a host-site user the site signed); an address a visitor typed is
    only claimed.
    """
    if msg.channel == Channel.EMAIL:
        return [(IdentityKind.EMAIL, normalize_email(msg.sender), True)]
    if msg.channel == Channel.SMS:
        return [(IdentityKind.PHONE, normalize_phone(msg.sender), True)]
    found: list[tuple[IdentityKind, str, bool]] = []
    if msg.host_user_id:
        found.append((IdentityKind.HOST_USER, msg.host_user_id, True))
    found.append((IdentityKind.VISITOR, msg.sender, True))
    if msg.email:
        found.append((IdentityKind.EMAIL, normalize_email(msg.email), False))
    return found


@dataclass(frozen=True, slots=True)
class Sender:
    """Who sent a message, as far as we know them: their identities and who holds them."""

    wanted: list[tuple[IdentityKind, str, bool]]
    # Every stored row of those identities, proven or claimed (``read_sender``: as plain rows).
    held: list[CustomerIdentity] | list[HeldIdentity]

    def rows(self, kind: IdentityKind, value: str) -> list:
        return [row for row in self.held if row.kind == kind and row.value == value]

    @property
    def customer(self) -> Customer | Holder | None:
        """The customer holding the most trustworthy proven identity; None for a stranger.

        Only what the message proves counts: a typed address never says who is writing.
        """
        return next(
            (
                row.customer
                for kind, value, proven in self.wanted
                if proven
                for row in self.rows(kind, value)
                if row.verified
            ),
            None,
        )


def look_up_sender(msg: InboundMessage) -> Sender:
    """The sender's identities and who holds them; reads only."""
    wanted = identities_of(msg)
    return Sender(wanted, identity_rows({(kind, value) for kind, value, _ in wanted}))


@dataclass(frozen=True, slots=True)
class Holder:
    """A customer as ``read_sender`` knows them."""

    id: int
    name: str | None


@dataclass(frozen=True, slots=True)
class HeldIdentity:
    """A stored identity as ``read_sender`` knows it."""

    kind: IdentityKind
    value: str
    verified: bool
    customer: Holder


_HELD = (
    select(
        CustomerIdentity.kind,
        CustomerIdentity.value,
        CustomerIdentity.verified_at.is_not(None),
        Customer.id,
        Customer.name,
    )
    .join(Customer, Customer.id == CustomerIdentity.customer_id)
    .where(
        CustomerIdentity.kind.in_(bindparam("kinds", expanding=True)),
        CustomerIdentity.value.in_(bindparam("values", expanding=True)),
    )
)


def read_sender(msg: InboundMessage) -> Sender:
    """``look_up_sender`` in plain rows, loading nothing into the session: enough for
    ``known_sender``, for a writer that goes on only when intake would change nobody."""
    wanted = identities_of(msg)
    pairs = {(kind, value) for kind, value, _ in wanted}
    rows = db.session.connection().execute(
        _HELD, {"kinds": sorted({kind for kind, _ in pairs}), "values": sorted(v for _, v in pairs)}
    )
    holders: dict[int, Holder] = {}
    held = [
        HeldIdentity(kind, value, verified, holders.setdefault(holder, Holder(holder, name)))
        for kind, value, verified, holder, name in rows
        if (kind, value) in pairs
    ]
    return Sender(wanted, held)


def identity_rows(pairs: set[tuple[IdentityKind, str]]) -> list[CustomerIdentity]:
    """Every stored row, proven or claimed, of these (kind, value) identities."""
    if not pairs:
        return []
    found = db.session.scalars(
        select(CustomerIdentity)
        .options(joinedload(CustomerIdentity.customer))
        .where(
            # Both columns, so the (kind, value) index is used instead of a table scan.
            CustomerIdentity.kind.in_({kind for kind, _ in pairs}),
            CustomerIdentity.value.in_({value for _, value in pairs}),
        )
    )
    return [row for row in found if (row.kind, row.value) in pairs]


def resolve_customer(msg: InboundMessage, sender: Sender, at: datetime) -> Customer:
    """The customer who sent this message, created on first contact; new identities are added.

    A proven identity held by someone else is never moved: merging two people is an agent's
    decision or the outcome of proof (helpdesk/tickets/identity_claims.py). A typed address
    is recorded as this customer's claim, whoever else holds it.
    """
    # A display name is whatever the sender's mail program wrote; a longer one than the column
    # holds is cut (PostgreSQL refused it, which quarantined the mail; found by bench/fuzz.py).
    name = msg.sender_name[:_NAME_LENGTH] if msg.sender_name else msg.sender_name
    # First contact is when the message was received, which may be well before it is taken in.
    customer = sender.customer or Customer(name=name, created_at=at)
    if customer.name is None and name:
        customer.name = name
    db.session.add(customer)
    for kind, value, proven in _unrecorded(sender, customer):
        db.session.add(
            CustomerIdentity(
                customer=customer, kind=kind, value=value, verified_at=at if proven else None
            )
        )
    return customer


def _unrecorded(sender: Sender, customer: Customer) -> list[tuple[IdentityKind, str, bool]]:
    """The sender's identities ``resolve_customer`` adds to ``customer``."""
    return [
        (kind, value, proven)
        for kind, value, proven in sender.wanted
        if not any(row.customer is customer for row in sender.rows(kind, value))
        and not (proven and any(row.verified for row in sender.rows(kind, value)))
    ]


def known_sender(msg: InboundMessage, sender: Sender) -> bool:
    """True when ``resolve_customer`` would change nobody for this message: its sender is a
    customer already, with every identity and the name it brings."""
    customer = sender.customer
    return (
        customer is not None
        and not (customer.name is None and msg.sender_name)
        and not _unrecorded(sender, customer)
    )


def phone_identity(number: str) -> CustomerIdentity | None:
    """The stored identity of a phone number in any format, if anyone has it."""
    try:
        value = normalize_phone(number)
    except InvalidInput:
        return None
    return db.session.scalar(
        select(CustomerIdentity).where(
            CustomerIdentity.kind == IdentityKind.PHONE,
            CustomerIdentity.value == value,
            CustomerIdentity.verified_at.is_not(None),
        )
    )


def add_phone(customer: Customer, number: str) -> CustomerIdentity:
    """Put a phone number on a customer's profile, so their texts land on them.

    Staff vouch for it, so it counts as proven.
    """
    value = normalize_phone(number)
    identity = phone_identity(value)
    if identity is not None and identity.customer_id != customer.id:
        raise TicketError(f"{value} already belongs to {identity.customer.display_name}")
    if identity is None:
        identity = CustomerIdentity(
            customer=customer, kind=IdentityKind.PHONE, value=value, verified_at=utcnow()
        )
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
