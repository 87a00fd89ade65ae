"""Two customers found to be one person: everything of one moves to the other.

An agent's merge keeps the merged customer as a tombstone (``merged_into``), so old links and
API calls lead to the customer it went into; proof of a claimed address joins the claimant
into the address's holder the same way (helpdesk/tickets/identity_claims.py) and removes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, IdentityKind, Survey, Ticket, User, utcnow
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.events import _record


class CustomerMergeRefused(TicketError):
    """A merge the rules refuse: into itself, or from or into a customer merged already."""


@dataclass(frozen=True, slots=True)
class MergePlan:
    """What merging ``source`` into ``target`` moves, for the agent to read before confirming."""

    source: Customer
    target: Customer
    tickets: list[Ticket]
    identities: list[CustomerIdentity]  # moved; those the target holds already are kept once
    surveys: int
    chat_visitors: int
    since: datetime  # the target's "customer since" afterwards: the earlier first contact


def live_customer(customer: Customer) -> Customer:
    """The customer a record stands for now: itself, or the one it was merged into."""
    seen = {customer.id}
    while customer.merged_into is not None and customer.merged_into.id not in seen:
        customer = customer.merged_into
        seen.add(customer.id)
    return customer


def check_merge(source: Customer, target: Customer) -> None:
    """Refuse a merge into itself, from or into a customer merged into another already, or of an
    erased customer (their record holds nothing personal any more, and must stay so)."""
    if source.id == target.id:
        raise CustomerMergeRefused("a customer cannot be merged into themselves")
    for customer in (source, target):
        if customer.erased_at is not None:
            raise CustomerMergeRefused(f"customer {customer.id} was erased")
        if customer.merged_into_id is not None:
            raise CustomerMergeRefused(
                f"{customer.display_name} (customer {customer.id}) was merged into "
                f"customer {customer.merged_into_id} already"
            )


def plan_merge(source: Customer, target: Customer) -> MergePlan:
    """What a merge of ``source`` into ``target`` would move; refused as ``check_merge`` does."""
    check_merge(source, target)
    tickets = list(
        db.session.scalars(
            select(Ticket)
            .where(Ticket.customer_id == source.id)
            .order_by(Ticket.created_at, Ticket.id)
        )
    )
    surveys = db.session.scalar(
        select(func.count())
        .select_from(Survey)
        .join(Ticket, Survey.ticket_id == Ticket.id)
        .where(Ticket.customer_id == source.id)
    )
    held = {(i.kind, i.value) for i in target.identities}
    moving = [i for i in source.identities if (i.kind, i.value) not in held]
    return MergePlan(
        source=source,
        target=target,
        tickets=tickets,
        identities=moving,
        surveys=surveys or 0,
        chat_visitors=sum(1 for i in source.identities if i.kind == IdentityKind.VISITOR),
        since=min(source.created_at, target.created_at),
    )


def merge_customers(source: Customer, target: Customer, actor: User) -> MergePlan:
    """Merge ``source`` into ``target``: tickets (with their surveys and chat conversations)
    and identities move, each moved ticket says so in its activity, and ``source`` stays as a
    tombstone pointing at ``target``. Audited; returns what moved."""
    _lock(source, target)
    plan = plan_merge(source, target)
    before = _summary(target)
    at = utcnow()
    for ticket in plan.tickets:
        _record(ticket, actor, "customer", source.display_name, target.display_name, at)
    absorb(source, target)
    source.merged_into = target
    source.version += 1
    target.version += 1
    audit.record(
        "customer.merged",
        "customer",
        target.id,
        before,
        {
            **_summary(target),
            "merged": source.id,
            "tickets": [t.id for t in plan.tickets],
            "identities": [f"{i.kind.value}:{i.value}" for i in plan.identities],
        },
    )
    db.session.flush()
    return plan


def _lock(*customers: Customer) -> None:
    """Hold both rows (in id order, so two merges never deadlock) and read them afresh: a
    merge another agent committed meanwhile is seen, and refused, rather than undone."""
    ids = sorted({customer.id for customer in customers})
    db.session.execute(
        select(Customer.id).where(Customer.id.in_(ids)).order_by(Customer.id).with_for_update()
    )
    for customer in customers:
        db.session.refresh(customer)


def absorb(source: Customer, target: Customer) -> list[Ticket]:
    """Move everything of ``source`` to ``target``: tickets, identities (an identity both hold
    stays once, the target's, proven and opted out if either was), customers merged into
    ``source`` earlier, the earlier first contact, a name when the target has none, the notes.
    Returns the tickets that moved; ``source`` is left empty for the caller to keep or remove."""
    tickets = list(db.session.scalars(select(Ticket).where(Ticket.customer_id == source.id)))
    for ticket in tickets:
        ticket.customer = target
    _move_identities(source, target)
    for tombstone in db.session.scalars(select(Customer).where(Customer.merged_into == source)):
        tombstone.merged_into = target
    target.created_at = min(source.created_at, target.created_at)
    target.name = target.name or source.name
    target.notes = "\n\n".join(n for n in (target.notes, source.notes) if n) or None
    return tickets


def _move_identities(source: Customer, target: Customer) -> None:
    held = {(i.kind, i.value): i for i in target.identities}
    proofs: list[tuple[CustomerIdentity, CustomerIdentity]] = []
    for identity in list(source.identities):
        kept = held.get((identity.kind, identity.value))
        if kept is None:
            identity.customer = target
            continue
        proofs.append((kept, identity))
        db.session.delete(identity)
    # The duplicate goes first: a proven identity is held by one row at a time.
    db.session.flush()
    for kept, dropped in proofs:
        kept.verified_at = _earliest(kept.verified_at, dropped.verified_at)
        if kept.opted_out_at is None and dropped.opted_out_at is not None:
            kept.opted_out_at, kept.opt_out_reason = dropped.opted_out_at, dropped.opt_out_reason
        kept.outreach_unsubscribed_at = _earliest(
            kept.outreach_unsubscribed_at, dropped.outreach_unsubscribed_at
        )


def _earliest(first: datetime | None, second: datetime | None) -> datetime | None:
    return min((d for d in (first, second) if d is not None), default=None)


def _summary(customer: Customer) -> dict[str, object]:
    return {
        "name": customer.name,
        "since": customer.created_at.isoformat(),
        "identities": [f"{i.kind.value}:{i.value}" for i in customer.identities],
    }
