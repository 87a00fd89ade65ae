"""Email-only ticket rules: mail loops, bounces and acknowledgements (threading is shared)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select

from channels.base import Channel
from channels.email.parse import DeliveryReport, ParsedEmail, parse_email
from helpdesk.extensions import db
from helpdesk.models import (
    DeliveryState,
    Direction,
    IntakeOutcome,
    Message,
    Ticket,
    utcnow,
)
from helpdesk.storage import blob_store
from helpdesk.tickets import service

AUTO_ANSWER_WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class EmailIntake:
    """What became of one email: the outcome, why, and the message it made or concerns."""

    outcome: IntakeOutcome
    reason: str
    message: Message | None = None


def take_email(parsed: ParsedEmail, *, acknowledge: bool = False) -> EmailIntake:
    """Decide what one parsed email becomes; flushes, the caller commits.

    Every write happens inside a savepoint, so an error leaves nothing of this email behind.
    """
    if parsed.from_us:
        return EmailIntake(IntakeOutcome.IGNORED, f"mail loop: {parsed.no_answer}")
    if parsed.report is not None:
        with db.session.begin_nested():
            return _take_report(parsed.report)
    intake = service.take(parsed.message)
    if intake.message is None:
        return EmailIntake(IntakeOutcome.IGNORED, intake.reason)
    if intake.opened_ticket and acknowledge:
        with db.session.begin_nested():
            _acknowledge(intake.message.ticket, parsed)
    return EmailIntake(IntakeOutcome.STORED, intake.reason, intake.message)


def _take_report(report: DeliveryReport) -> EmailIntake:
    """A bounce marks our message failed on its ticket; it never opens a ticket itself."""
    original = None
    if report.original_message_id:
        original = db.session.scalar(
            select(Message).where(
                Message.direction == Direction.OUTBOUND,
                Message.channel == Channel.EMAIL,
                Message.external_id == report.original_message_id,
            )
        )
    if original is None:
        about = report.original_message_id or "an unknown message"
        return EmailIntake(IntakeOutcome.IGNORED, f"delivery report about {about}, not ours")
    summary = f"{report.action} {report.status} {report.diagnostic}".strip()
    if report.action == "failed":
        original.delivery_state = DeliveryState.FAILED
        original.error_code = (report.status or "bounce")[:60]
        original.error_text = report.diagnostic or "the receiving server could not deliver it"
    service.record_event(original.ticket, "delivery-report", f"message {original.id}: {summary}")
    db.session.flush()
    return EmailIntake(IntakeOutcome.BOUNCE, f"delivery report: {summary}"[:300], original)


def _acknowledge(ticket: Ticket, parsed: ParsedEmail) -> None:
    """Tell the customer their ticket number, unless that could feed a loop."""
    sender = parsed.message.sender
    why_not = parsed.no_answer or _over_auto_answer_limit(sender)
    if why_not:
        service.record_event(ticket, "no-automatic-answer", why_not)
        return
    service.send_automatic(
        ticket,
        sender,
        f"Thank you for writing to us. Your request is ticket #{ticket.number}; "
        "we will answer as soon as we can.\n\n"
        "To add anything, reply to this email and keep the ticket number in the subject.",
    )


def _over_auto_answer_limit(address: str) -> str | None:
    limit = current_app.config["HELPDESK_AUTO_ANSWERS_PER_HOUR"]
    recent = db.session.scalar(
        select(func.count(Message.id)).where(
            Message.direction == Direction.OUTBOUND,
            Message.auto_submitted.is_(True),
            Message.recipient == address,
            Message.created_at >= utcnow() - AUTO_ANSWER_WINDOW,
        )
    )
    if recent >= limit:
        return f"{address} got {recent} automatic answers in the last hour (limit {limit})"
    return None


def original_email(message: Message) -> bytes:
    """The raw email as it arrived (the "show original" of the agent's view); KeyError if none."""
    if message.raw_ref is None:
        raise KeyError(f"message {message.id} has no stored original")
    return blob_store().get(message.raw_ref)


def html_with_remote_images(message: Message) -> str | None:
    """The message's HTML sanitised again from the original, remote images allowed this time.

    Remote images stay blocked (tracking pixels) until an agent asks for them.
    """
    if message.raw_ref is None or message.html is None:
        return message.html
    raw = original_email(message)
    return parse_email(raw, endpoint=message.endpoint.address, remote_images=True).message.html
