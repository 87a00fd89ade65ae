"""Spam and the trash: marking a ticket as spam and back, deleting, restoring and purging.

A spam or deleted ticket stays as it was (status, assignee, messages…) and only leaves the
lists and reports (helpdesk/tickets/bins.py), so undoing either brings everything back. A
deleted ticket is restorable by an admin for ``RETENTION_DAYS``; then the worker purges it for
good: its rows, and the stored files no other row refers to.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    ChatEvent,
    DeliveryAttempt,
    InboundEmail,
    InboxItem,
    Message,
    Role,
    Survey,
    Ticket,
    TicketEvent,
    User,
    WebhookAttempt,
    WebhookDelivery,
    ticket_tags,
    utcnow,
)
from helpdesk.privacy.erasure import delete_files_on_commit, forget_search_entries
from helpdesk.tickets import sla
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.events import _flush, _record

RETENTION_DAYS = 30
DELETERS = (Role.MANAGER, Role.ADMIN)
RESTORERS = (Role.ADMIN,)
PURGE_BATCH = 100
# Event values: webhooks report them as the field's before and after.
YES, NO = "true", "false"


class InTrash(TicketError):
    """The ticket is in the trash: nothing changes on it until an admin restores it."""


def refuse_if_deleted(ticket: Ticket) -> None:
    """Raise InTrash, saying who deleted it and when, for a ticket in the trash."""
    if ticket.deleted_at is None:
        return
    who = ticket.deleted_by.name if ticket.deleted_by else "someone"
    raise InTrash(
        f"#{ticket.number} was deleted by {who} on {ticket.deleted_at:%d %b %Y %H:%M} UTC "
        "and is in the trash; nothing was changed on it"
    )


def mark_spam(ticket: Ticket, actor: User, *, at: datetime | None = None) -> bool:
    """Mark the ticket as spam; False when it was already."""
    refuse_if_deleted(ticket)
    if ticket.spam_at is not None:
        return False
    at = at or utcnow()
    ticket.spam_at, ticket.spam_by = at, actor
    _moved(ticket, actor, "spam", NO, YES, at)
    return True


def unmark_spam(ticket: Ticket, actor: User, *, at: datetime | None = None) -> bool:
    """Take the spam mark off ("Not spam"); False when it had none."""
    refuse_if_deleted(ticket)
    if ticket.spam_at is None:
        return False
    ticket.spam_at, ticket.spam_by = None, None
    _moved(ticket, actor, "spam", YES, NO, at or utcnow())
    return True


def delete_ticket(ticket: Ticket, actor: User, *, at: datetime | None = None) -> bool:
    """Move the ticket to the trash (managers and admins); False when it was there already."""
    if actor.role not in DELETERS:
        raise TicketError("only managers and admins delete tickets")
    if ticket.deleted_at is not None:
        return False
    at = at or utcnow()
    ticket.deleted_at, ticket.deleted_by = at, actor
    _moved(ticket, actor, "deleted", NO, YES, at)
    audit.record("ticket.deleted", "ticket", ticket.id, after={"number": ticket.number})
    return True


def restore(ticket: Ticket, actor: User, *, at: datetime | None = None) -> None:
    """Take the ticket out of the trash as it was (admins, before it is purged)."""
    if actor.role not in RESTORERS:
        raise TicketError("only admins restore deleted tickets")
    if ticket.deleted_at is None:
        raise TicketError(f"#{ticket.number} is not in the trash")
    deleted_at = ticket.deleted_at
    ticket.deleted_at, ticket.deleted_by = None, None
    _moved(ticket, actor, "deleted", YES, NO, at or utcnow())
    audit.record(
        "ticket.restored",
        "ticket",
        ticket.id,
        before={"deleted_at": deleted_at.isoformat()},
        after={"number": ticket.number},
    )


def purge_due_at(ticket: Ticket) -> datetime | None:
    """When the worker purges this deleted ticket for good (None: not in the trash)."""
    return None if ticket.deleted_at is None else ticket.deleted_at + _retention()


def days_left(ticket: Ticket, now: datetime | None = None) -> int:
    """Days before the ticket is purged, a day begun counting whole (30 just after deleting)."""
    due = purge_due_at(ticket)
    if due is None:
        return 0
    return max(math.ceil((due - (now or utcnow())) / timedelta(days=1)), 0)


def _moved(ticket: Ticket, actor: User, kind: str, before: str, after: str, at: datetime) -> None:
    # Deadlines wait while the ticket is out of the work, and count again once it is back.
    sla.refresh_next_due(ticket)
    ticket.updated_at = max(ticket.updated_at, at)
    _record(ticket, actor, kind, before, after, at)
    _flush()


def _retention() -> timedelta:
    return timedelta(days=RETENTION_DAYS)


# --- purging ------------------------------------------------------------------------------------


def purge_expired(now: datetime | None = None) -> int:
    """Remove for good every ticket deleted longer than the retention ago (the worker's
    periodic job), audited with the count and ids; commits each batch. Returns how many."""
    now = now or utcnow()
    purged = 0
    while ids := list(
        db.session.scalars(
            select(Ticket.id)
            .where(Ticket.deleted_at <= now - _retention())
            .order_by(Ticket.deleted_at, Ticket.id)
            .limit(PURGE_BATCH)
            # Workers purging at once take different tickets (a no-op on SQLite).
            .with_for_update(skip_locked=True)
        )
    ):
        numbers = purge(ids)
        audit.record(
            "tickets.purged",
            "ticket",
            None,
            after={"count": len(ids), "ids": ids, "numbers": numbers},
        )
        db.session.commit()
        purged += len(ids)
    return purged


def purge(ticket_ids: list[int]) -> list[int]:
    """Delete these tickets and everything of theirs, with the tickets merged into them (their
    conversation lives there); other tickets' links to them are cleared. Returns the numbers
    purged. Files go at commit when no remaining row refers to them. Flushes."""
    ids = _with_merged_sources(ticket_ids)
    numbers = list(db.session.scalars(select(Ticket.number).where(Ticket.id.in_(ids))))
    messages = list(db.session.scalars(select(Message.id).where(Message.ticket_id.in_(ids))))
    files = set(
        db.session.scalars(
            select(Attachment.storage_key).where(
                Attachment.message_id.in_(messages), Attachment.storage_key.is_not(None)
            )
        )
    ) | set(
        db.session.scalars(
            select(Message.raw_ref).where(Message.id.in_(messages), Message.raw_ref.is_not(None))
        )
    )
    db.session.flush()
    _unlink(ids, messages)
    for statement in (
        delete(DeliveryAttempt).where(DeliveryAttempt.message_id.in_(messages)),
        delete(Attachment).where(Attachment.message_id.in_(messages)),
        delete(Survey).where(Survey.ticket_id.in_(ids)),
        delete(Message).where(Message.id.in_(messages)),
        delete(TicketEvent).where(TicketEvent.ticket_id.in_(ids)),
        delete(ticket_tags).where(ticket_tags.c.ticket_id.in_(ids)),
        delete(ChatEvent).where(ChatEvent.ticket_id.in_(ids)),
        delete(WebhookAttempt).where(
            WebhookAttempt.delivery_id.in_(
                select(WebhookDelivery.id).where(WebhookDelivery.ticket_id.in_(ids))
            )
        ),
        delete(WebhookDelivery).where(WebhookDelivery.ticket_id.in_(ids)),
        delete(Ticket).where(Ticket.id.in_(ids)),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))
    forget_search_entries(ids)
    delete_files_on_commit(files)
    # The rows went in bulk: the session forgets what it held of them.
    gone = {Ticket: set(ids), Message: set(messages)}
    for (model, key, *_), row in list(db.session.identity_map.items()):
        if key[0] in gone.get(model, ()):
            db.session.expunge(row)
    return numbers


def _with_merged_sources(ticket_ids: list[int]) -> list[int]:
    """The tickets and, in turn, every ticket merged into one of them."""
    found, frontier = set(ticket_ids), set(ticket_ids)
    while frontier:
        frontier = (
            set(db.session.scalars(select(Ticket.id).where(Ticket.merged_into_id.in_(frontier))))
            - found
        )
        found |= frontier
    return sorted(found)


def _unlink(ids: list[int], messages: list[int]) -> None:
    """Clear what other rows keep of the purged tickets: links and copied events stay theirs."""
    for column in (Ticket.previous_ticket_id, Ticket.split_from_id):
        db.session.execute(
            update(Ticket)
            .where(column.in_(ids), Ticket.id.not_in(ids))
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        update(TicketEvent)
        .where(TicketEvent.merged_from_id.in_(ids), TicketEvent.ticket_id.not_in(ids))
        .values(merged_from_id=None)
        .execution_options(synchronize_session=False)
    )
    for column, gone in ((Survey.follow_up_ticket_id, ids), (Survey.question_id, messages)):
        db.session.execute(
            update(Survey)
            .where(column.in_(gone), Survey.ticket_id.not_in(ids))
            .values({column.key: None})
            .execution_options(synchronize_session=False)
        )
    # The mail log and the webhook inbox keep their rows (a second copy of a mail is still
    # known and not taken in again), no longer pointing at a message or raw mail that is gone.
    db.session.execute(
        update(InboundEmail)
        .where(InboundEmail.message_id.in_(messages))
        .values(message_id=None, raw_ref="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        update(InboxItem)
        .where(InboxItem.message_id.in_(messages))
        .values(message_id=None)
        .execution_options(synchronize_session=False)
    )
