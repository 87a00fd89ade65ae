"""The stage dashboard's journey flow (how customers move from one request's stage to their
next's), kept exact per local day beside the stage rollups (helpdesk/reports/rollups.py).

The flow of a range counts each pair of one customer's consecutive reported requests that both
arrived in it, among the requests the page's filters let through (channel, agent, team,
source). Which request is "the previous one" therefore depends on the filters: with
channel=sms it is the customer's previous SMS request. So each request is kept once per
*chain*: per scope of team and assignee (its own and ``ANY``, as the stage rollups) and per
choice of whether the channel and the source must match too, with the local day and stage of
its previous request in that chain. A range [a, b] counts the *steps* whose request is on a
day of [a, b] and whose previous request is on day a or later: it reads days, not tickets.

A change to one request can change which request comes before the customer's later ones. So a
flush that changes requests works out the steps of their customers' requests around them
(as far as a report can reach, before and after), before and after the change, and inserts
the difference as delta rows in its own transaction. Meanwhile it holds the customer's row
(PostgreSQL: FOR NO KEY UPDATE, which an intake's foreign key does not wait for), so two
changes to one customer's requests take turns and each takes back what is really there, while
requests of different customers never wait on each other. The worker folds the deltas into
``journey_rollups`` and a report reads the rows and the deltas not yet folded in one statement
(journey_rows.py, which loads numpy as rollup_rows.py does for the stage rollups). Bulk SQL
changes and a change of ``HELPDESK_TIMEZONE`` need ``helpdesk reports rebuild``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import cache
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    Connection,
    and_,
    event,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session, attributes

from helpdesk.models import Customer, JourneyDelta, Ticket, utcnow
from helpdesk.reports.rollups import scopes
from helpdesk.tickets.queries import Trait, trait_condition

# The most days between a step's two requests that a report can count: a report spans at most
# stage_load.MAX_DAYS (731); steps further apart are never kept.
LONGEST_GAP = 1023
# How far around a changed request its customer's steps may change: as far as a step reaches,
# and a day more either side for local days against UTC.
_REACH = timedelta(days=LONGEST_GAP + 2)
# Chain bits: the previous request must be on the same channel, of the same source.
SAME_CHANNEL, SAME_SOURCE = 1, 2
CHAINS = 4
# The ticket attributes a customer's steps depend on.
_WATCHED = (
    "created_at",
    "stage",
    "channel",
    "proactive",
    "team_id",
    "team",
    "assignee_id",
    "assignee",
    "merged_into_id",
    "merged_into",
    "spam_at",
    "deleted_at",
    "customer_id",
    "customer",
)
DELTAS = JourneyDelta.__table__
_PENDING = "journey_rollups.pending"


class Step(NamedTuple):
    """One request after the customer's previous one in one chain, as a delta row holds it."""

    team_id: int
    assignee_id: int
    chain: int
    day: date
    channel: str
    proactive: bool
    stage: str
    earlier_stage: str
    earlier_day: date


@cache
def visit_rows() -> Any:
    """Each reported request's customer, time and what the filters and the flow look at (built
    once: every flush that changes a request reads them)."""
    return select(
        Ticket.customer_id,
        Ticket.created_at,
        Ticket.stage,
        Ticket.channel,
        Ticket.proactive,
        Ticket.team_id,
        Ticket.assignee_id,
    ).where(trait_condition(Trait.REPORTED))


def customer_steps(
    visits: Iterable[Any], zone: ZoneInfo, since: datetime | None = None
) -> Iterator[Step]:
    """The steps of one customer's requests (in order of arrival), those arrived ``since``."""
    latest: dict[tuple, tuple[date, str]] = {}
    for _, created_at, stage, channel, proactive, team_id, assignee_id in visits:
        day = created_at.astimezone(zone).date()
        stage, channel, proactive = str(stage), str(channel), bool(proactive)
        counted = since is None or created_at >= since
        for team, assignee in scopes(team_id, assignee_id):
            for chain in range(CHAINS):
                key = (
                    team,
                    assignee,
                    chain,
                    channel if chain & SAME_CHANNEL else None,
                    proactive if chain & SAME_SOURCE else None,
                )
                earlier = latest.get(key)
                latest[key] = (day, stage)
                if counted and earlier and (day - earlier[0]).days <= LONGEST_GAP:
                    yield Step(
                        team, assignee, chain, day, channel, proactive, stage, *earlier[::-1]
                    )


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["HELPDESK_TIMEZONE"])


# --- deltas, in the transaction of every change -------------------------------------------

Windows = dict[int, tuple[datetime, datetime]]


def _readcustomer_steps(connection: Connection, windows: Windows) -> Counter[Step]:
    """The steps of the requests that arrived in each customer's window (first, last + reach),
    each from its previous request in the reach before."""
    found: Counter[Step] = Counter()
    zone = _zone()
    customers = sorted(windows)
    for start in range(0, len(customers), 200):
        chunk = customers[start : start + 200]
        around = (
            and_(
                Ticket.customer_id == customer,
                Ticket.created_at >= windows[customer][0] - _REACH,
                Ticket.created_at <= windows[customer][1] + _REACH,
            )
            for customer in chunk
        )
        rows = connection.execute(
            visit_rows()
            .where(or_(*around))
            .order_by(Ticket.customer_id, Ticket.created_at, Ticket.id)
        )
        for customer, visits in groupby(rows, key=lambda row: row[0]):
            found.update(customer_steps(visits, zone, since=windows[customer][0]))
    return found


def _hold(connection: Connection, customers: Iterable[int]) -> None:
    """Take turns with any other change to these customers' requests (in id order)."""
    ids = sorted(customers)
    if ids and connection.dialect.name == "postgresql":
        connection.execute(
            select(Customer.id)
            .where(Customer.id.in_(ids))
            .order_by(Customer.id)
            .with_for_update(key_share=True)
        )


class _Pending:
    """The requests one flush changes, their customers' windows and steps before it."""

    def __init__(self, tickets: list[Ticket], windows: Windows, before: Counter[Step]) -> None:
        self.tickets = tickets
        self.windows = windows
        self.before = before


def _changed(obj: object, name: str) -> bool:
    return bool(attributes.get_history(obj, name, attributes.PASSIVE_NO_INITIALIZE).added)


def _customer_of(ticket: Ticket) -> int | None:
    """The customer a request will have after the flush (None: one created by it)."""
    customer = ticket.__dict__.get("customer")
    if customer is not None and not _changed(ticket, "customer_id"):
        return customer.id
    return ticket.customer_id


@event.listens_for(Session, "before_flush")
def _read_before(session: Session, flush_context: Any, instances: Any) -> None:
    session.info.pop(_PENDING, None)
    changed = [
        obj
        for obj in session.dirty
        if isinstance(obj, Ticket) and any(_changed(obj, name) for name in _WATCHED)
    ]
    tickets = changed + [obj for obj in session.new if isinstance(obj, Ticket)]
    gone = [obj.id for obj in session.deleted if isinstance(obj, Ticket)]
    if not (tickets or gone):
        return
    times: dict[int, list[datetime]] = defaultdict(list)
    connection = session.connection()
    stored = [obj.id for obj in changed] + gone
    if stored:
        for customer, created_at in connection.execute(
            select(Ticket.customer_id, Ticket.created_at).where(Ticket.id.in_(stored))
        ):
            times[customer].append(created_at)
    for ticket in tickets:
        customer = _customer_of(ticket)
        if customer is not None:
            times[customer].append(ticket.created_at or utcnow())
    windows = {customer: (min(found), max(found)) for customer, found in times.items()}
    _hold(connection, windows)
    session.info[_PENDING] = _Pending(tickets, windows, _readcustomer_steps(connection, windows))


@event.listens_for(Session, "after_flush")
def _insert_deltas(session: Session, flush_context: Any) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    windows = dict(pending.windows)
    for ticket in pending.tickets:
        # A customer this flush created had no requests before it.
        windows.setdefault(ticket.customer_id, (ticket.created_at, ticket.created_at))
    after = _readcustomer_steps(session.connection(), windows)
    rows = [{"sign": -1, **step._asdict()} for step in (pending.before - after).elements()]
    rows += [{"sign": 1, **step._asdict()} for step in (after - pending.before).elements()]
    if rows:
        session.connection().execute(insert(DELTAS), rows)
