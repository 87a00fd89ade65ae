"""Named counters (ticket numbers, chat event ids) handed out under a row lock.

The UPDATE … RETURNING locks the counter row until the transaction ends, so concurrent
callers get consecutive values in commit order.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk.extensions import db
from helpdesk.models import Counter


def next_value(name: str) -> int:
    """The next value of counter ``name``, made on first use even by concurrent callers."""
    value = _bump(name)
    if value is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two first callers at once: one inserts, the other waits for it and skips.
        db.session.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing())
        value = _bump(name)
    return value


def _bump(name: str) -> int | None:
    # On the session's connection, not through the ORM: no Counter is ever loaded into the
    # session, so there is nothing to synchronise, and intake bumps this once per new ticket.
    counters = Counter.__table__
    return (
        db.session.connection()
        .execute(
            update(counters)
            .where(counters.c.name == name)
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        )
        .scalar()
    )
