"""Identities are claims until proven: what proves a claimed address, and what proof does.

An address typed into the chat is recorded as a claim on the visitor's own customer
(``CustomerIdentity.verified_at`` is None) and never decides who is writing. It is proven by
a mail from it that answers one of the ticket's mails, or by opening a link the helpdesk
emailed to it. Proof makes the address the claimant's, or, when another customer already
holds it, makes the claimant that customer: their tickets and identities move over.

The ticket service records the events; this module decides and moves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from channels.base import Channel, InboundMessage
from helpdesk.chat import sites as chat_sites
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, Endpoint, IdentityKind, Ticket
from helpdesk.tickets import customer_merges
from helpdesk.tickets.customers import Sender, normalize_email
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.threading import ThreadMatch

LINK_LIFETIME = timedelta(days=7)
# Why a link mail is on its ticket; the ticket page hides such a mail's text from agents, who
# could be talked into passing the link on (templates/agent/ticket.html).
LINK_REASON = "verification link"
# Separates verification links from any other token signed with the same secret key.
_TOKEN_SALT = "helpdesk.identity-verification"


class LinkRefused(TicketError):
    """A verification link that proves nothing: forged, altered, expired or outdated."""


def answered_claim(
    msg: InboundMessage, match: ThreadMatch | None, sender: Sender
) -> CustomerIdentity | None:
    """The claim a mail proves: its sender's address, claimed by the customer of the ticket the
    mail answers. An automatic reply (an out-of-office) proves nothing: nobody read our mail."""
    if match is None or msg.channel != Channel.EMAIL or msg.auto_submitted:
        return None
    address = normalize_email(msg.sender)
    return next(
        (
            row
            for row in sender.rows(IdentityKind.EMAIL, address)
            if row.customer_id == match.ticket.customer_id and not row.verified
        ),
        None,
    )


def prove(claim: CustomerIdentity, at: datetime) -> tuple[Customer, list[Ticket]]:
    """Mark the claim proven, or join its customer to the one who holds the address proven.

    Returns the customer holding the address now and the tickets that moved to them.
    """
    db.session.flush()  # inside an intake batch too: who holds what must be read as written
    claimant = claim.customer
    owner = db.session.scalar(
        select(Customer)
        .join(Customer.identities)
        .where(
            CustomerIdentity.kind == claim.kind,
            CustomerIdentity.value == claim.value,
            CustomerIdentity.verified_at.is_not(None),
        )
    )
    if owner is None:
        claim.verified_at = at
        return claimant, []
    return owner, _join(claimant, owner)


def _join(claimant: Customer, owner: Customer) -> list[Ticket]:
    """The claimant becomes the owner: everything of theirs moves (tickets, and with them chat
    conversations, identities); the claimant, a customer only this chat made, is removed."""
    tickets = customer_merges.absorb(claimant, owner)
    db.session.delete(claimant)
    return tickets


def verifiable(ticket: Ticket, identity_id: int) -> tuple[CustomerIdentity, Endpoint]:
    """The claimed address of the ticket's customer a link can go to, and the mailbox it goes
    through (the ticket's own, or the chat site's)."""
    claim = db.session.get(CustomerIdentity, identity_id)
    if claim is None or claim.customer_id != ticket.customer_id:
        raise TicketError("that address is not on this ticket's customer")
    if claim.kind != IdentityKind.EMAIL:
        raise TicketError("only an email address can be verified by a link")
    if claim.verified:
        raise TicketError(f"{claim.value} is verified already")
    mailbox = link_mailbox(ticket)
    if mailbox is None:
        raise TicketError(
            "there is no mailbox to send the link from: name one in the chat site's settings"
        )
    return claim, mailbox


def link_mailbox(ticket: Ticket) -> Endpoint | None:
    """The mailbox a verification link on this ticket goes out through, if it has one."""
    if ticket.channel == Channel.EMAIL:
        return ticket.endpoint
    if ticket.channel == Channel.CHAT:
        return chat_sites.mailbox_of(ticket.endpoint)
    return None


def link_mail(claim: CustomerIdentity, ticket: Ticket) -> tuple[str, str]:
    """The subject and text of the mail that carries the link."""
    base = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/")
    token = _serializer().dumps({"i": claim.id, "v": claim.value, "t": ticket.id})
    days = LINK_LIFETIME.days
    text = (
        f"Someone gave {claim.value} as their email address in a conversation with us "
        f"(request #{ticket.number}).\n\n"
        f"If that was you, confirm it with this link (valid for {days} days, no login):\n"
        f"{base}/verify/{token}\n\n"
        "If it was not you, ignore this mail: nothing is linked to your address unless "
        "the link is opened."
    )
    return f"Confirm your email address [#{ticket.number}]", text


@dataclass(frozen=True, slots=True)
class OpenedLink:
    """What a valid link names: the claim (None once proven and joined) and its ticket."""

    address: str
    claim: CustomerIdentity | None
    ticket: Ticket


def open_link(token: str) -> OpenedLink:
    """What a verification link names; LinkRefused says why it proves nothing."""
    try:
        data = _serializer().loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise LinkRefused(
            "This link has expired. Ask us for a new one in your conversation."
        ) from None
    except BadSignature:
        raise LinkRefused(
            "This link is not valid. Copy the whole link from the mail, or ask us for a new one."
        ) from None
    ticket = db.session.get(Ticket, data.get("t")) if isinstance(data, dict) else None
    if ticket is None or not isinstance(data.get("v"), str):
        raise LinkRefused("This link is not valid any more. Ask us for a new one.")
    claim = db.session.get(CustomerIdentity, data.get("i"))
    # A row id may be given again after a join removed the claim: only the same claim counts.
    if claim is not None and (claim.value, claim.customer_id) != (data["v"], ticket.customer_id):
        claim = None
    proven = claim is None or claim.verified
    if proven and not _holds(ticket.customer, data["v"]):
        raise LinkRefused("This link is not valid any more. Ask us for a new one.")
    return OpenedLink(data["v"], None if proven else claim, ticket)


def _holds(customer: Customer, address: str) -> bool:
    """True when the customer holds this address proven: a link opened a second time."""
    return any(
        i.kind == IdentityKind.EMAIL and i.value == address and i.verified
        for i in customer.identities
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_TOKEN_SALT)
