"""Erasing a customer: everything personal goes, the tickets stay as anonymous rows.

A ticket keeps its stage, channel, status, priority, timestamps, durations, SLA deadlines and
breaches, team, assignee, counts and survey score, so the stage reports show the same figures
after an erasure as before. The customer row stays, nameless and marked ``erased_at``, so the
tickets keep a customer; their identities go, so mail or texts from the same address or number
later make a new customer. Files are content-addressed and may be shared with another
customer's ticket: one is deleted only when no remaining row refers to it, and only once the
erasure is committed (a rolled-back erasure leaves every file in place).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import delete, event, false, or_, select, update
from sqlalchemy.orm import Session

from helpdesk import audit
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    ChatConversation,
    ChatEvent,
    Customer,
    DeliveryAttempt,
    InboundEmail,
    InboxItem,
    Message,
    WebhookAttempt,
    WebhookDelivery,
    utcnow,
)
from helpdesk.privacy.holdings import Holdings, about_them, holdings_of
from helpdesk.privacy.suppressions import suppress
from helpdesk.storage import blob_store
from helpdesk.tickets import search
from helpdesk.tickets.errors import TicketError

ERASED_NAME = "Erased customer"
ERASED = "(erased)"
# Ticket events whose values are the ticket's own properties, never what the customer wrote
# or who they are; every other kind (replies, notes, ratings, Cc, opt-outs…) is blanked.
PROPERTY_EVENTS = frozenset(
    {
        "created",
        "status",
        "reopened",
        "stage",
        "priority",
        "team",
        "assignee",
        "tag",
        "macro",
        "sla_breach",
        "merged-from",
        "merged-into",
        "split-from",
        "split-into",
        "spam",
        "deleted",
    }
)
# Audit values that are settings of a ticket, not anything the customer said or is.
NEUTRAL_AUDIT_KEYS = frozenset(
    {"status", "priority", "stage", "team", "assignee", "channel", "into", "tags", "version"}
)
_FILES_TO_DELETE = "helpdesk privacy files to delete"


class AlreadyErased(TicketError):
    """The customer was erased before; there is nothing left to erase."""


@dataclass(frozen=True, slots=True)
class Erasure:
    """How much one erasure removed or blanked, by kind: counts only, nothing personal."""

    customer_id: int
    tickets_kept: int
    messages_blanked: int
    attachments_removed: int
    files_removed: int
    identities_removed: int
    chat_conversations_removed: int
    chat_events_removed: int
    inbox_items_removed: int
    stray_emails_removed: int
    search_entries_removed: int
    ticket_events_redacted: int
    survey_comments_removed: int
    audit_events_redacted: int
    webhook_payloads_removed: int

    def counts(self) -> dict[str, int]:
        """The counts by name (the audit row, the API answer)."""
        return {name: value for name, value in asdict(self).items() if name != "customer_id"}


def erase_customer(customer: Customer) -> Erasure:
    """Remove everything personal held about ``customer``, keep their tickets anonymous, and
    audit it with counts only; flushes."""
    # Locked, so two admins erasing at once erase once; the second is told it is done.
    erased_at = db.session.scalar(
        select(Customer.erased_at).where(Customer.id == customer.id).with_for_update()
    )
    if erased_at is not None:
        raise AlreadyErased(f"customer {customer.id} was erased already")
    held = holdings_of(customer)
    files = held.file_keys()
    suppress(held.identities)
    erasure = Erasure(
        customer_id=customer.id,
        tickets_kept=len(held.tickets),
        messages_blanked=_blank_messages(held),
        attachments_removed=_delete_all(held.attachments),
        files_removed=0,
        identities_removed=_delete_all(held.identities),
        chat_conversations_removed=_delete_chat(held),
        chat_events_removed=len(held.chat_events),
        inbox_items_removed=_delete_rows(InboxItem, [item.id for item in held.inbox_items]),
        stray_emails_removed=_delete_all(held.stray_emails),
        search_entries_removed=0,
        ticket_events_redacted=_redact_events(held),
        survey_comments_removed=_drop_comments(held),
        audit_events_redacted=_redact_audit(held),
        webhook_payloads_removed=forget_webhook_payloads(held),
    )
    _blank_tickets(held)
    _blank_mail_log(held)
    for erased in (customer, *held.merged_customers):
        erased.name, erased.notes, erased.erased_at = ERASED_NAME, None, utcnow()
    db.session.flush()
    db.session.expire(customer, ["identities"])
    erasure = _finish(
        erasure,
        forget_search_entries([ticket.id for ticket in held.tickets]),
        delete_files_on_commit(files),
    )
    audit.record("customer.erased", "customer", customer.id, after=erasure.counts())
    db.session.flush()
    return erasure


def confirms_erasure(customer: Customer, typed: str) -> bool:
    """Whether what an admin typed confirms erasing: the customer's name or the word ERASE."""
    typed = " ".join(typed.split())
    name = customer.name or ""
    return typed == "ERASE" or (bool(name) and typed.casefold() == name.casefold())


def forget_webhook_payloads(held: Holdings) -> int:
    """Remove queued and logged webhook events about the customer or their tickets; returns
    how many (their attempts go with them)."""
    customers = [held.customer.id, *(c.id for c in held.merged_customers)]
    tickets = [ticket.id for ticket in held.tickets]
    about = or_(
        WebhookDelivery.customer_id.in_(customers),
        WebhookDelivery.ticket_id.in_(tickets) if tickets else false(),
    )
    ids = list(db.session.scalars(select(WebhookDelivery.id).where(about)))
    if ids:
        db.session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    return _delete_rows(WebhookDelivery, ids)


def _finish(erasure: Erasure, search_entries: int, files: int) -> Erasure:
    values = asdict(erasure) | {"search_entries_removed": search_entries, "files_removed": files}
    return Erasure(**values)


def _delete_all(rows: list[Any]) -> int:
    for row in rows:
        db.session.delete(row)
    return len(rows)


def _delete_rows(model: type[Any], ids: list[Any]) -> int:
    if ids:
        db.session.execute(
            delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)
        )
    return len(ids)


def _blank_messages(held: Holdings) -> int:
    """Texts, HTML, addresses and raw copies go; direction, channel, times and state stay."""
    for message in held.messages:
        # Shown where the ticket page names who wrote and to whom.
        message.sender = ERASED if message.sender else None
        message.recipient = ERASED if message.recipient else None
        message.subject = None
        message.text = ""
        message.folded_text = message.html = message.raw_ref = None
        # A Message-ID or provider id must not thread a later message onto the erased ticket.
        message.external_id = message.content_hash = None
        message.thread_reason = message.error_text = None
        message.cc = []
    ids = [message.id for message in held.messages]
    if ids:
        db.session.execute(
            update(DeliveryAttempt)
            .where(DeliveryAttempt.message_id.in_(ids))
            .values(error_text=None)
            .execution_options(synchronize_session=False)
        )
    return len(held.messages)


def _blank_mail_log(held: Holdings) -> None:
    for email in held.emails:
        # The log row stays so a second copy of the mail is still known and not taken in again.
        email.raw_ref = ""
        email.message_id_header = None
        email.reason = ERASED


def _blank_tickets(held: Holdings) -> None:
    for ticket in held.tickets:
        ticket.subject = ERASED
        ticket.cc = []
        # An SMS conversation id names the number; a later text must start a new ticket.
        ticket.conversation_id = None


def _delete_chat(held: Holdings) -> int:
    _delete_rows(ChatEvent, [chat_event.id for chat_event in held.chat_events])
    return _delete_rows(ChatConversation, [conversation.id for conversation in held.conversations])


def _redact_events(held: Holdings) -> int:
    redacted = 0
    for ticket_event in held.events:
        if ticket_event.kind in PROPERTY_EVENTS:
            continue
        if ticket_event.from_value or ticket_event.to_value:
            ticket_event.from_value = ERASED if ticket_event.from_value else None
            ticket_event.to_value = ERASED if ticket_event.to_value else None
            redacted += 1
    return redacted


def _drop_comments(held: Holdings) -> int:
    commented = [survey for survey in held.surveys if survey.comment]
    for survey in commented:
        survey.comment = None  # the score stays: it is a report figure
    return len(commented)


def _redact_audit(held: Holdings) -> int:
    """Personal values in audit rows become "(erased)"; the rows themselves stay."""
    personal = _quoting(held.personal_values())
    redacted = 0
    for row in held.audit_events:
        everything = about_them(held, row)
        before = _redacted(row.before, personal, everything)
        after = _redacted(row.after, personal, everything)
        if (before, after) != (row.before, row.after):
            row.before, row.after = before, after
            redacted += 1
    return redacted


def _quoting(values: set[str]) -> re.Pattern[str]:
    """Any of the values as a whole word: a short name must not blank every word it is in."""
    if not values:
        return re.compile(r"(?!)")  # matches nothing
    alternatives = "|".join(re.escape(value) for value in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _redacted(value: Any, personal: re.Pattern[str], everything: bool, key: str = "") -> Any:
    """``value`` with personal strings replaced; with ``everything``, every string but the
    ticket settings (a row about the customer holds what they or an agent wrote about them)."""
    if isinstance(value, dict):
        return {name: _redacted(item, personal, everything, name) for name, item in value.items()}
    if isinstance(value, list):
        return [_redacted(item, personal, everything, key) for item in value]
    if not isinstance(value, str) or key in NEUTRAL_AUDIT_KEYS:
        return value
    if everything or personal.search(value):
        return ERASED
    return value


def forget_search_entries(ids: list[int]) -> int:
    """Drop these tickets' rows from the word index (renamed subjects were indexed on flush)."""
    if not ids:
        return 0
    return search.forget(db.session.connection(), ids)


def delete_files_on_commit(candidates: set[str]) -> int:
    """Queue the files no remaining row refers to for deletion at commit; returns how many."""
    still_used = set()
    for column in (Attachment.storage_key, Message.raw_ref, InboundEmail.raw_ref):
        still_used.update(db.session.scalars(select(column).where(column.in_(candidates))))
    unused = candidates - still_used
    db.session.info.setdefault(_FILES_TO_DELETE, set()).update(unused)
    return len(unused)


@event.listens_for(Session, "after_commit")
def _delete_files(session: Session) -> None:
    keys = session.info.pop(_FILES_TO_DELETE, None)
    if keys:
        store = blob_store()
        for key in keys:
            store.delete(key)


@event.listens_for(Session, "after_soft_rollback")
def _keep_files(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_FILES_TO_DELETE, None)
