"""Stage-aware service targets: when a ticket's first response and resolution are due.

Targets are set per journey stage in business minutes (``stage_slas``) and counted in the
business hours of ``HELPDESK_BUSINESS_HOURS`` in ``HELPDESK_TIMEZONE`` (around the clock when
unset). A ticket keeps both deadlines and ``sla_due_at``, the next one still to be met or
recorded as breached. A breach is recorded once per target, as a ticket event, either when the
late reply or solve happens or when the worker's periodic check finds the deadline passed.
A reopened ticket is measured against its original resolution deadline again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    Message,
    Stage,
    StageSla,
    Ticket,
    TicketEvent,
    TicketStatus,
    utcnow,
)

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^(\w{3})(?:-(\w{3}))?\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
BREACH_BATCH = 500


_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m?)?$")


def parse_minutes(text: str | None) -> int | None:
    """A target as people write it: "90", "90m", "4h", "2d", "1h 30m"; blank means none."""
    text = (text or "").strip().lower()
    if not text:
        return None
    match = _DURATION.match(text)
    if not match or not any(match.groups()):
        raise ValueError(f"{text!r} is not a duration like 90m, 4h, 2d or 1h 30m")
    days, hours, minutes = (int(part or 0) for part in match.groups())
    total = days * 24 * 60 + hours * 60 + minutes
    if total <= 0:
        raise ValueError("a target must be longer than zero")
    return total


def format_minutes(minutes: int | None) -> str:
    """The inverse of parse_minutes: 90 -> "1h 30m"."""
    if minutes is None:
        return ""
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    return " ".join(part for part in parts if part)


class InvalidBusinessHours(ValueError):
    """A HELPDESK_BUSINESS_HOURS value that cannot be read; the message shows the format."""


@dataclass(frozen=True, slots=True)
class BusinessHours:
    """Open on ``days`` (0 = Monday) from ``opens`` to ``closes`` local time, or always."""

    tz: ZoneInfo
    days: frozenset[int] = frozenset(range(7))
    opens: time = time(0)
    closes: time | None = None  # None: until midnight

    @classmethod
    def parse(cls, spec: str, tz: str = "UTC") -> BusinessHours:
        """``""`` (around the clock) or e.g. ``"mon-fri 09:00-17:00"``."""
        zone = ZoneInfo(tz)
        spec = spec.strip().lower()
        if not spec:
            return cls(zone)
        match = _SPEC.match(spec)
        try:
            first = DAY_NAMES.index(match.group(1))
            last = DAY_NAMES.index(match.group(2) or match.group(1))
            opens = time(int(match.group(3)), int(match.group(4)))
            closes = time(int(match.group(5)), int(match.group(6)))
        except (AttributeError, ValueError):
            raise InvalidBusinessHours(
                f"business hours {spec!r} are not like 'mon-fri 09:00-17:00'"
            ) from None
        if closes <= opens:
            raise InvalidBusinessHours("business hours must close after they open")
        days = frozenset((first + n) % 7 for n in range((last - first) % 7 + 1))
        return cls(zone, days, opens, closes)

    def add(self, start: datetime, minutes: int) -> datetime:
        """The moment ``minutes`` business minutes after ``start``."""
        left = timedelta(minutes=minutes)
        start = start.astimezone(UTC)
        day = start.astimezone(self.tz).date()
        while True:
            window = self._window(day)
            if window:
                begin, end = max(window[0], start), window[1]
                if begin < end:
                    if begin + left <= end:
                        return begin + left
                    left -= end - begin
            day += timedelta(days=1)

    def _window(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.days:
            return None
        begin = datetime.combine(day, self.opens, tzinfo=self.tz)
        if self.closes is None:
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz)
        else:
            end = datetime.combine(day, self.closes, tzinfo=self.tz)
        # Arithmetic on UTC: adding to a local time would ignore a daylight-saving change.
        return begin.astimezone(UTC), end.astimezone(UTC)


def business_hours() -> BusinessHours:
    """The business hours the running app is configured with."""
    config = current_app.config
    return BusinessHours.parse(config["HELPDESK_BUSINESS_HOURS"], config["HELPDESK_TIMEZONE"])


def targets() -> dict[Stage, StageSla]:
    """Every stage's targets, by stage."""
    return {sla.stage: sla for sla in db.session.scalars(select(StageSla))}


def set_target(stage: str, first_response: int | None, resolution: int | None) -> StageSla:
    """Set one stage's targets in business minutes; None removes a target."""
    for minutes in (first_response, resolution):
        if minutes is not None and minutes <= 0:
            raise ValueError("a target must be a positive number of minutes")
    sla = db.session.get(StageSla, stage) or StageSla(stage=stage)
    sla.first_response_minutes, sla.resolution_minutes = first_response, resolution
    db.session.add(sla)
    db.session.flush()
    return sla


def apply_targets(ticket: Ticket, known: Mapping[Stage, StageSla] | None = None) -> None:
    """Set the ticket's deadlines from its stage's targets, counted from its creation.

    ``known``: every stage's targets (``targets()``), when the caller has them already.
    """
    sla = db.session.get(StageSla, ticket.stage) if known is None else known.get(ticket.stage)
    hours = business_hours()
    first, resolution = (sla.first_response_minutes, sla.resolution_minutes) if sla else (None,) * 2
    start = first_response_start(ticket)
    ticket.first_response_due_at = hours.add(start, first) if first and start else None
    ticket.resolution_due_at = hours.add(ticket.created_at, resolution) if resolution else None
    refresh_next_due(ticket)


def first_response_start(ticket: Ticket) -> datetime | None:
    """When the first-response clock starts: at creation for a customer's request; for a
    conversation we started (proactive), at the customer's first answer, None until then."""
    if not ticket.proactive:
        return ticket.created_at
    if ticket.id is None:
        return None
    return db.session.scalar(
        select(func.min(Message.created_at)).where(
            Message.ticket_id == ticket.id,
            Message.direction == Direction.INBOUND,
            Message.auto_submitted.is_(False),
        )
    )


def customer_answered(ticket: Ticket, at: datetime) -> None:
    """The customer's first answer to a conversation we started starts its first-response
    clock; later messages, and any request of theirs, change nothing."""
    if not ticket.proactive or ticket.first_response_at or ticket.first_response_due_at:
        return
    sla = db.session.get(StageSla, ticket.stage)
    if sla is not None and sla.first_response_minutes:
        ticket.first_response_due_at = business_hours().add(at, sla.first_response_minutes)
        refresh_next_due(ticket)


def note_progress(ticket: Ticket, at: datetime) -> None:
    """Record a target missed by a reply or solve happening now, then move the next deadline."""
    _record_breaches(ticket, at)
    refresh_next_due(ticket)


def refresh_next_due(ticket: Ticket) -> None:
    """Point ``sla_due_at`` at the earliest deadline neither met nor recorded as breached."""
    pending = [due for due, _ in _pending_targets(ticket)]
    ticket.sla_due_at = min(pending) if pending else None


def record_breaches(now: datetime | None = None) -> int:
    """Record every deadline that passed unmet (the worker's periodic job); commits."""
    now = now or utcnow()
    recorded = 0
    while tickets := db.session.scalars(
        select(Ticket)
        .where(Ticket.sla_due_at <= now)
        .order_by(Ticket.sla_due_at)
        .limit(BREACH_BATCH)
        # Workers running the check at once take different tickets (a no-op on SQLite).
        .with_for_update(skip_locked=True)
    ).all():
        for ticket in tickets:
            recorded += _record_breaches(ticket, now)
            refresh_next_due(ticket)
        db.session.commit()
    return recorded


def is_breached(ticket: Ticket) -> bool:
    return (
        ticket.first_response_breached_at is not None or ticket.resolution_breached_at is not None
    )


def _pending_targets(ticket: Ticket) -> list[tuple[datetime, str]]:
    # Nobody works on spam or deleted tickets: no deadline of theirs is breached meanwhile.
    done = ticket.status in (TicketStatus.SOLVED, TicketStatus.CLOSED) or (
        ticket.is_spam or ticket.is_deleted
    )
    pending = []
    if (
        ticket.first_response_due_at
        and ticket.first_response_at is None
        and ticket.first_response_breached_at is None
        and not done
    ):
        pending.append((ticket.first_response_due_at, "first_response"))
    if ticket.resolution_due_at and ticket.resolution_breached_at is None and not done:
        pending.append((ticket.resolution_due_at, "resolution"))
    return pending


def _record_breaches(ticket: Ticket, at: datetime) -> int:
    """Record, as of ``at``, every target missed and not recorded yet."""
    recorded = 0
    for due, target in _targets_missed(ticket, at):
        setattr(ticket, f"{target}_breached_at", at)
        ticket.events.append(
            TicketEvent(
                kind="sla_breach", from_value=due.isoformat(), to_value=target, created_at=at
            )
        )
        recorded += 1
    return recorded


def _targets_missed(ticket: Ticket, now: datetime) -> list[tuple[datetime, str]]:
    # A ticket solved without any public reply (spam, a duplicate) owes no first response.
    answered_or_open = ticket.first_response_at is not None or ticket.status not in (
        TicketStatus.SOLVED,
        TicketStatus.CLOSED,
    )
    checks = (
        ("first_response", ticket.first_response_due_at, ticket.first_response_at),
        ("resolution", ticket.resolution_due_at, ticket.solved_at),
    )
    missed = []
    for target, due, done_at in checks:
        if due is None or getattr(ticket, f"{target}_breached_at") is not None:
            continue
        if target == "first_response" and not answered_or_open:
            continue
        if (done_at or now) > due:
            missed.append((due, target))
    return missed
