"""Where a ticket sits: in the work (queues, searches, reports), in the spam, or in the trash.

Every ticket list and report reads its condition from here, so a spam or deleted ticket is left
out of all of them alike (helpdesk/tickets/trash.py moves tickets between the bins).
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, and_

from helpdesk.models import Role, Ticket
from helpdesk.tickets.filter_values import InvalidFilter


class Bin(StrEnum):
    """The ``in`` filter of the ticket lists: ``active`` when absent."""

    ACTIVE = "active"  # neither spam nor deleted: what agents work on
    SPAM = "spam"  # marked as spam by an agent, not deleted
    TRASH = "trash"  # deleted, restorable by an admin until it is purged


def bin_condition(place: Bin) -> ColumnElement[bool]:
    """The WHERE clause for tickets in ``place``."""
    return {
        Bin.ACTIVE: and_(Ticket.spam_at.is_(None), Ticket.deleted_at.is_(None)),
        Bin.SPAM: and_(Ticket.spam_at.is_not(None), Ticket.deleted_at.is_(None)),
        Bin.TRASH: Ticket.deleted_at.is_not(None),
    }[place]


def parse_bin(value: str | None) -> Bin:
    """``in=`` from a query string: ``active`` when absent."""
    if not value:
        return Bin.ACTIVE
    try:
        return Bin(value)
    except ValueError:
        allowed = ", ".join(member.value for member in Bin)
        raise InvalidFilter(f"in must be one of {allowed}, not {value!r}") from None


def check_allowed(place: Bin, role: Role) -> None:
    """InvalidFilter when ``role`` may not list ``place``: the trash is for admins alone."""
    if place == Bin.TRASH and role != Role.ADMIN:
        raise InvalidFilter("in=trash: the trash is for admins only")
