"""Named counters (ticket numbers, chat event ids) handed out under a row lock.

The UPDATE … RETURNING locks the counter row until the transaction ends, so concurrent
callers get consecutive values in commit order.
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from helpdesk.extensions import db
from helpdesk.models import Counter


def next_value(name: str) -> int:
    """The next value of counter ``name``, made on first use even by concurrent callers."""
    return next_values(name, 1)[0]


def next_values(name: str, count: int) -> range:
    """The next ``count`` values of counter ``name`` in one statement."""
    last = _bump(name, count)
    if last is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Two first callers at once: one inserts, the other waits for it and skips.
        db.session.execute(insert(Counter).values(name=name, value=0).on_conflict_do_nothing())
        last = _bump(name, count)
    return range(last - count + 1, last + 1)


def _bump(name: str, count: int) -> int | None:
    return db.session.connection().execute(_BUMP, {"counter": name, "step": count}).scalar()


# On the session's connection, not through the ORM: no Counter is ever loaded into the session,
# so there is nothing to synchronise; built once, since intake bumps it for every new ticket.
_BUMP = (
    update(Counter.__table__)
    .where(Counter.__table__.c.name == bindparam("counter"))
    .values(value=Counter.__table__.c.value + bindparam("step"))
    .returning(Counter.__table__.c.value)
)
