"""The customer record agents keep: name and notes, and the addresses and numbers that reach
the customer, added, proven and removed. Each change is audited; the caller commits.

An address or number an agent adds is a claim, as one typed into the chat is (DESIGN.md,
"Identities are claims until proven"): it never decides who is writing. An email address is
proven the one way a claim is: the customer opens the link we mail to it. A phone number
has no link; an agent who has checked it with the customer may vouch for it, recorded as
theirs in the audit trail (as staff already vouch for a number added for texting).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from channels.base import Channel
from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    IdentityKind,
    Message,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import conversation, identity_claims, outbound
from helpdesk.tickets.customers import identity_rows, normalize_email, typed_phone
from helpdesk.tickets.errors import InvalidInput, TicketError

NAME_LENGTH = 200
NOTES_LIMIT = 10_000
# Kinds an agent types in; chat visitors and host-site users come from the chat alone.
TYPED_KINDS = (IdentityKind.EMAIL, IdentityKind.PHONE)
_WAITING = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING)


class StaleCustomer(TicketError):
    """The customer changed since the page (or version) the edit started from."""

    def __init__(self, customer: Customer) -> None:
        super().__init__(
            f"someone else changed this customer while you were editing (it is now version "
            f"{customer.version}): read it again, then decide"
        )
        self.customer = customer


class IdentityTaken(TicketError):
    """The address or number belongs to another customer: the two may be one person."""

    def __init__(self, value: str, holder: Customer) -> None:
        super().__init__(
            f"{value} belongs to {holder.display_name} (customer {holder.id}); if they are "
            "the same person, merge the two customers"
        )
        self.holder = holder


@dataclass(frozen=True, slots=True)
class ProfileChange:
    name: str | None
    notes: str | None


def edit_profile(
    customer: Customer, change: ProfileChange, seen_version: int | None
) -> dict[str, str | None]:
    """Set name and notes; refused (StaleCustomer) when the customer changed after
    ``seen_version`` (None: write whatever changed meanwhile). Returns what changed, audited."""
    _refuse_tombstone(customer)
    wanted = {"name": _cleaned_name(change.name), "notes": _cleaned_notes(change.notes)}
    before = {key: getattr(customer, key) for key in wanted}
    changed = {key: value for key, value in wanted.items() if before[key] != value}
    if not changed:
        return {}
    if seen_version is not None and seen_version != customer.version:
        raise StaleCustomer(customer)
    # In SQL against the version read: a save racing this one finds the version moved.
    condition = [Customer.id == customer.id]
    if seen_version is not None:
        condition.append(Customer.version == seen_version)
    written = db.session.execute(
        update(Customer)
        .where(*condition)
        .values(**changed, version=Customer.version + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(customer)
    if written.rowcount != 1:
        raise StaleCustomer(customer)
    audit.record(
        "customer.changed",
        "customer",
        customer.id,
        {key: before[key] for key in changed},
        changed,
    )
    db.session.flush()
    return changed


def create_customer(name: str | None, identities: list[tuple[str, str]]) -> Customer:
    """A customer an agent records by hand, with addresses or numbers added as claims (as
    ``add_identity`` adds them: IdentityTaken when another customer holds one). Audited."""
    cleaned = _cleaned_name(name)
    if cleaned is None and not identities:
        raise InvalidInput("give the customer a name, an address or number, or both")
    customer = Customer(name=cleaned, created_at=utcnow())
    db.session.add(customer)
    db.session.flush()
    audit.record("customer.created", "customer", customer.id, None, {"name": cleaned})
    for kind, value in identities:
        add_identity(customer, kind, value)
    return customer


def _cleaned_name(name: str | None) -> str | None:
    name = " ".join((name or "").split())
    if len(name) > NAME_LENGTH:
        raise InvalidInput(f"a name has at most {NAME_LENGTH} characters")
    return name or None


def _cleaned_notes(notes: str | None) -> str | None:
    notes = (notes or "").strip().replace("\r\n", "\n")
    if len(notes) > NOTES_LIMIT:
        raise InvalidInput(f"notes have at most {NOTES_LIMIT:,} characters")
    return notes or None


def add_identity(customer: Customer, kind: IdentityKind | str, value: str) -> CustomerIdentity:
    """Add an email address or phone number as a claim of the customer; refused (IdentityTaken)
    when another customer holds it, proven or claimed. Audited."""
    _refuse_tombstone(customer)
    kind, value = normalized(kind, value)
    for row in identity_rows({(kind, value)}):
        if row.customer_id == customer.id:
            raise InvalidInput(f"{value} is on this customer already")
        raise IdentityTaken(value, row.customer)
    identity = CustomerIdentity(customer=customer, kind=kind, value=value)
    db.session.add(identity)
    db.session.flush()
    audit.record(
        "customer.identity_added",
        "customer",
        customer.id,
        None,
        {"identity": identity.id, "kind": kind.value, "value": value, "verified": False},
    )
    return identity


def normalized(kind: IdentityKind | str, value: str) -> tuple[IdentityKind, str]:
    """The kind and stored form of a typed address or number; InvalidInput says what is wrong."""
    if kind not in TYPED_KINDS:
        raise InvalidInput("kind must be email or phone")
    kind = IdentityKind(kind)
    value = (value or "").strip()
    if not value:
        raise InvalidInput(f"type the {'address' if kind == IdentityKind.EMAIL else 'number'}")
    if kind == IdentityKind.EMAIL:
        normalized_email = normalize_email(value)
        if " " in normalized_email or len(normalized_email) > 254:
            raise InvalidInput(f"not an email address: {value!r}")
        return kind, normalized_email
    phone = typed_phone(value)
    if phone is None:
        raise InvalidInput(f"not a phone number (with its area code): {value!r}")
    return kind, phone


def identity_of(customer: Customer, identity_id: int) -> CustomerIdentity | None:
    """The customer's identity with this id; None when it is not theirs."""
    identity = db.session.get(CustomerIdentity, identity_id)
    return identity if identity is not None and identity.customer_id == customer.id else None


def send_proof_link(identity: CustomerIdentity, actor: User) -> Message:
    """Mail the claimed address a link that proves it, on the customer's newest ticket that
    has a mailbox to send from (an email ticket, or a chat on a site with one). Audited."""
    ticket = _link_ticket(identity.customer)
    message = conversation.send_verification_link(ticket, identity.id, actor)
    audit.record(
        "customer.identity_link_sent",
        "customer",
        identity.customer_id,
        None,
        {"identity": identity.id, "value": identity.value, "ticket": ticket.id},
    )
    return message


def _link_ticket(customer: Customer) -> Ticket:
    tickets = db.session.scalars(
        select(Ticket)
        .where(
            Ticket.customer_id == customer.id,
            Ticket.channel.in_((Channel.EMAIL, Channel.CHAT)),
            Ticket.merged_into_id.is_(None),
            # Nothing is written on a ticket in the trash.
            Ticket.deleted_at.is_(None),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    )
    for ticket in tickets:
        if identity_claims.link_mailbox(ticket) is not None:
            return ticket
    raise TicketError(
        "the link goes out on one of the customer's email or chat tickets, and they have none "
        "with a mailbox to send from"
    )


def vouch_for(identity: CustomerIdentity, actor: User) -> None:
    """Mark a claimed phone number proven on an agent's word; refused for an email address
    (its link proves it) and for a number another customer holds proven. Audited."""
    if identity.kind != IdentityKind.PHONE:
        raise TicketError("an email address is proven by the link mailed to it, not by hand")
    if identity.verified:
        raise InvalidInput(f"{identity.value} is verified already")
    for row in identity_rows({(identity.kind, identity.value)}):
        if row.customer_id != identity.customer_id and row.verified:
            raise IdentityTaken(identity.value, row.customer)
    identity.verified_at = utcnow()
    audit.record(
        "customer.identity_verified",
        "customer",
        identity.customer_id,
        {"identity": identity.id, "value": identity.value, "verified": False},
        {"identity": identity.id, "value": identity.value, "verified": True, "by": actor.id},
    )
    db.session.flush()


def remove_identity(identity: CustomerIdentity) -> None:
    """Take an identity off the customer; refused while replies to one of their open tickets
    go to it, and for a number that opted out (its row is what keeps texts from it). Audited."""
    if identity.opted_out_at is not None:
        raise TicketError(
            f"{identity.value} opted out of texts; it stays so that nothing is texted to it"
        )
    for ticket in _waiting_tickets(identity.customer_id):
        if outbound.reply_destination(ticket) == identity.value:
            raise TicketError(
                f"replies to #{ticket.number}, still {ticket.status.value}, go to "
                f"{identity.value}: solve that ticket first"
            )
    audit.record(
        "customer.identity_removed",
        "customer",
        identity.customer_id,
        {
            "identity": identity.id,
            "kind": identity.kind.value,
            "value": identity.value,
            "verified": identity.verified,
        },
        None,
    )
    db.session.delete(identity)
    db.session.flush()


def _waiting_tickets(customer_id: int) -> list[Ticket]:
    return list(
        db.session.scalars(
            select(Ticket).where(
                Ticket.customer_id == customer_id,
                Ticket.status.in_(_WAITING),
                Ticket.merged_into_id.is_(None),
                Ticket.deleted_at.is_(None),
            )
        )
    )


def _refuse_tombstone(customer: Customer) -> None:
    """Only a live customer's record changes: not one merged into another, not one erased."""
    if customer.merged_into_id is not None:
        raise TicketError(
            f"this customer was merged into customer {customer.merged_into_id}: change that one"
        )
    if customer.erased_at is not None:
        raise TicketError("this customer was erased: their record takes no new personal data")
