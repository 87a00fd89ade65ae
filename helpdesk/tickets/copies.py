"""The people in Cc of an email ticket: kept from the customer's mail, copied on our replies.

A customer who writes to us and to colleagues of theirs keeps those colleagues in the
conversation: they are on the ticket's ``cc``, every reply copies them unless an agent takes
them off (which takes them off the ticket), and what they write back threads onto the ticket.
Someone who answers a ticket's mail without being on it is not added: an agent may copy them.
"""

from __future__ import annotations

import re
from datetime import datetime

from channels.base import Channel, InboundMessage
from helpdesk.models import IdentityKind, Message, Ticket, User
from helpdesk.tickets.customers import normalize_email
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.events import _record

CC_LIMIT = 20


class InvalidCc(InvalidInput):
    """The Cc a writer gave cannot be used; the form shows why next to the Cc box."""


_SEPARATORS = re.compile(r"[\s,;]+")


def note_copied(ticket: Ticket, msg: InboundMessage, at: datetime) -> None:
    """Keep on the ticket the people the customer's mail also went to."""
    if ticket.channel != Channel.EMAIL or not msg.cc:
        return
    _copy_in(ticket, None, [address for address in msg.cc if address != msg.sender.lower()], at)


def _copy_in(ticket: Ticket, actor: User | None, addresses: list[str], at: datetime) -> None:
    """Add these addresses to the ticket's Cc, leaving out its customer's own."""
    customer = {
        identity.value
        for identity in ticket.customer.identities
        if identity.kind == IdentityKind.EMAIL
    }
    added = [a for a in dict.fromkeys(addresses) if a not in ticket.cc and a not in customer]
    if added:
        _set(ticket, actor, [*ticket.cc, *added][:CC_LIMIT], at)


def copied_on_reply(
    ticket: Ticket,
    actor: User,
    wanted: list[str] | None,
    at: datetime,
    shown: list[str] | None = None,
) -> list[str]:
    """Whom a reply copies: the ticket's Cc, or the list the agent left (the ticket's from now).

    With ``shown`` (the Cc the agent's page showed), only the agent's own edits count: someone
    added to the ticket since (by a newer mail) stays copied unless the agent removed them.
    """
    if wanted is None:
        return list(ticket.cc)
    if ticket.channel != Channel.EMAIL:
        if wanted:
            raise InvalidCc("only an email reply can copy people (Cc)")
        return []
    try:
        chosen = list(dict.fromkeys(normalize_email(address) for address in wanted))
    except InvalidInput as unfit:
        raise InvalidCc(str(unfit)) from None
    if shown is not None:
        removed = set(shown) - set(chosen)
        kept = [address for address in ticket.cc if address not in removed]
        chosen = kept + [address for address in chosen if address not in kept]
    if len(chosen) > CC_LIMIT:
        raise InvalidCc(f"a reply can copy at most {CC_LIMIT} people")
    if chosen != ticket.cc:
        _set(ticket, actor, chosen, at)
    return chosen


def copy_outsider(ticket: Ticket, message: Message, actor: User, at: datetime) -> None:
    """Put the writer of a mail from outside the ticket on its Cc, as an agent decided: copied
    on replies from now on, and their mail threads as a participant's."""
    if message.ticket_id != ticket.id or not message.from_outsider:
        raise InvalidCc(f"message {message.id} is no mail from outside #{ticket.number}")
    if ticket.channel != Channel.EMAIL:
        raise InvalidCc("only an email ticket copies people (Cc)")
    address = message.sender.lower()
    if address not in ticket.cc and len(ticket.cc) >= CC_LIMIT:
        raise InvalidCc(f"a ticket copies at most {CC_LIMIT} people: take someone off first")
    _copy_in(ticket, actor, [address], at)


def addresses_in(text: str | None) -> list[str]:
    """The addresses typed into a Cc box: separated by commas, semicolons or spaces."""
    return [part for part in _SEPARATORS.split(text or "") if part]


def _set(ticket: Ticket, actor: User | None, addresses: list[str], at: datetime) -> None:
    _record(ticket, actor, "cc", ", ".join(ticket.cc) or None, ", ".join(addresses) or None, at)
    ticket.cc = addresses
