"""Reading the audit trail: which events a filter keeps, and what each one changed.

The admin page and ``GET /api/v1/audit`` both filter through ``AuditFilter`` and page through
``helpdesk.tickets.queries.audit_page``; ``changes`` turns an event's before and after into the
rows a person reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, or_

from helpdesk.audit import CHANGED
from helpdesk.models import AuditEvent
from helpdesk.tickets.filter_values import start_of_day
from helpdesk.tickets.queries import Page, audit_page

SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Who, what and when to keep; every field left None keeps everything."""

    actor: int | Literal["system"] | None = None  # a user id, or "system" (CLI, worker)
    action: str | None = None  # exact ("user.changed") or a dotted prefix ("user", "api")
    target_type: str | None = None
    target_id: str | None = None
    date_from: date | None = None  # inclusive, in ``timezone``
    date_to: date | None = None  # inclusive, in ``timezone``
    timezone: str = "UTC"

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions of this filter."""
        found: list[ColumnElement[bool]] = []
        if self.actor == SYSTEM:
            found.append(AuditEvent.actor_id.is_(None))
        elif self.actor is not None:
            found.append(AuditEvent.actor_id == self.actor)
        if self.action:
            prefix = self.action.rstrip(".")
            found.append(
                or_(
                    AuditEvent.action == prefix,
                    AuditEvent.action.startswith(f"{prefix}.", autoescape=True),
                )
            )
        if self.target_type:
            found.append(AuditEvent.target_type == self.target_type)
        if self.target_id:
            found.append(AuditEvent.target_id == self.target_id)
        if self.date_from:
            found.append(AuditEvent.at >= start_of_day(self.date_from, self.timezone))
        if self.date_to:
            next_day = self.date_to + timedelta(days=1)
            found.append(AuditEvent.at < start_of_day(next_day, self.timezone))
        return found


def events(filters: AuditFilter, limit: int, cursor: str | None = None) -> Page[AuditEvent]:
    """One page of the events ``filters`` keeps, newest first; a bad cursor is InvalidFilter."""
    return audit_page(filters.conditions(), limit, cursor)


@dataclass(frozen=True, slots=True)
class Change:
    """One value an event changed; a secret says only that it changed."""

    key: str
    before: Any
    after: Any
    secret: bool


def changes(event: AuditEvent) -> list[Change]:
    """The keys whose value differs between before and after, in the order they were kept.

    A secret is kept as "(changed)" on both sides, so it is listed whenever it is on record.
    """
    before, after = event.before or {}, event.after or {}
    found = []
    for key in dict.fromkeys([*before, *after]):
        old, new = before.get(key), after.get(key)
        secret = CHANGED in (old, new)
        if secret or old != new:
            found.append(Change(key, old, new, secret))
    return found
