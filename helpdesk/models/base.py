"""Column helpers and enums shared by every model."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import DateTime, String, TypeDecorator
from sqlalchemy.engine import Dialect


def utcnow() -> datetime:
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class StrEnumType(TypeDecorator[StrEnum]):
    """A StrEnum stored as its plain value: readable in SQL, no database enum type to migrate."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[StrEnum]) -> None:
        super().__init__(max(len(member.value) for member in enum))
        self.enum = enum

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> StrEnum | None:
        return None if value is None else self.enum(value)


def enum_column(enum: type[StrEnum]) -> StrEnumType:
    """The column type for one StrEnum."""
    return StrEnumType(enum)


class Role(StrEnum):
    AGENT = "agent"
    MANAGER = "manager"
    ADMIN = "admin"


class TokenScope(StrEnum):
    """What an API token may do, narrowest first; its user's role still limits each use."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def covers(self, needed: TokenScope) -> bool:
        """Whether a token of this scope may do what ``needed`` allows."""
        order = list(TokenScope)
        return order.index(self) >= order.index(needed)


class IdentityKind(StrEnum):
    EMAIL = "email"
    PHONE = "phone"
    VISITOR = "visitor"
    HOST_USER = "host_user"


class TicketStatus(StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    SOLVED = "solved"
    CLOSED = "closed"


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Stage(StrEnum):
    AWARENESS = "awareness"
    DISCOVERY = "discovery"
    ATTRACTION = "attraction"
    INTERACTION = "interaction"
    PURCHASE = "purchase"
    USE = "use"
    CULTIVATION = "cultivation"
    ADVOCACY = "advocacy"
    UNKNOWN = "unknown"


class StageSource(StrEnum):
    CUSTOMER = "customer"
    RULE = "rule"
    MODEL = "model"
    ENDPOINT_DEFAULT = "endpoint-default"
    AGENT = "agent"
    API = "api"
    NONE = "none"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"
    NOTE = "note"


class DeliveryState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
