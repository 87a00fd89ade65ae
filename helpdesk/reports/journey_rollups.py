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
``journey_rollups`` (:func:`fold_due`); a report reads the rows and the deltas not yet folded
in one statement (:func:`flow`). Bulk SQL changes and a change of ``HELPDESK_TIMEZONE`` need
``helpdesk reports rebuild``.
"""

from __future__ import annotations

from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from functools import cache
from itertools import groupby
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
from flask import current_app
from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    String,
    and_,
    cast,
    delete,
    event,
    insert,
    null,
    or_,
    select,
    tuple_,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session, attributes

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Customer, JourneyDelta, JourneyRollup, Stage, Ticket, utcnow
from helpdesk.models.reports import ANY
from helpdesk.reports.rollup_reads import Narrowing
from helpdesk.reports.rollup_rows import VALUES, as_values, lock_folding, scopes, without
from helpdesk.tickets.queries import Trait, trait_condition

# The most days between a step's two requests that a report can count: a report spans at most
# stage_load.MAX_DAYS (731); steps further apart are never kept.
LONGEST_GAP = 1023
_GAP_BITS = 10
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
_STAGES = {stage.value: n for n, stage in enumerate(Stage)}
_CHANNELS = {channel.value: n for n, channel in enumerate(Channel)}
_PAIRS = len(Stage) ** 2
# The first number of a packed row: this layout's version, and the stages and channels it
# was packed for.
_LAYOUT = (1 << 24) | (len(Stage) << 8) | len(Channel)
_ROLLUPS = JourneyRollup.__table__
_DELTAS = JourneyDelta.__table__
_PENDING = "journey_rollups.pending"
_BATCH = 5_000
FOLD_BATCH = 20_000


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


class _RowKey(NamedTuple):
    team_id: int
    assignee_id: int
    chain: int
    day: date


@cache
def _visits() -> Any:
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


def _steps(visits: Iterable[Any], zone: ZoneInfo, since: datetime | None = None) -> Iterator[Step]:
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


def _read_steps(connection: Connection, windows: Windows) -> Counter[Step]:
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
            _visits().where(or_(*around)).order_by(Ticket.customer_id, Ticket.created_at, Ticket.id)
        )
        for customer, visits in groupby(rows, key=lambda row: row[0]):
            found.update(_steps(visits, zone, since=windows[customer][0]))
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
    session.info[_PENDING] = _Pending(tickets, windows, _read_steps(connection, windows))


@event.listens_for(Session, "after_flush")
def _insert_deltas(session: Session, flush_context: Any) -> None:
    pending: _Pending | None = session.info.pop(_PENDING, None)
    if pending is None:
        return
    windows = dict(pending.windows)
    for ticket in pending.tickets:
        # A customer this flush created had no requests before it.
        windows.setdefault(ticket.customer_id, (ticket.created_at, ticket.created_at))
    after = _read_steps(session.connection(), windows)
    rows = [{"sign": -1, **step._asdict()} for step in (pending.before - after).elements()]
    rows += [{"sign": 1, **step._asdict()} for step in (after - pending.before).elements()]
    if rows:
        session.connection().execute(insert(_DELTAS), rows)


# --- the packed rows ----------------------------------------------------------------------
#
# A row is int32s, little-endian: _LAYOUT, then one number per step, sorted: the step's
# channel, source, previous and own stage, then its gap in days in the low _GAP_BITS.


def _packed_step(step: Step) -> int:
    combo = _CHANNELS[step.channel] * 2 + step.proactive
    pair = _STAGES[step.earlier_stage] * len(Stage) + _STAGES[step.stage]
    return ((combo * _PAIRS + pair) << _GAP_BITS) | (step.day - step.earlier_day).days


def _unpack(packed: bytes | None) -> np.ndarray:
    if not packed:
        return np.empty(0, dtype=VALUES)
    numbers = np.frombuffer(packed, dtype=VALUES)
    if numbers[0] != _LAYOUT:
        raise ValueError("journey rollups packed another way (run: reports rebuild)")
    return numbers[1:]


def _pack(steps: np.ndarray) -> bytes:
    return np.concatenate((np.array([_LAYOUT], dtype=VALUES), steps)).tobytes()


# --- folding ---------------------------------------------------------------------------------


def fold(connection: Connection, batch: int = FOLD_BATCH) -> int:
    """Fold up to ``batch`` of the oldest deltas into the rows; returns how many."""
    if connection.scalar(select(_DELTAS.c.id).limit(1)) is None:
        return 0
    lock_folding(connection)
    oldest = select(_DELTAS.c.id).order_by(_DELTAS.c.id).limit(batch).scalar_subquery()
    taken = connection.execute(
        delete(_DELTAS)
        .where(_DELTAS.c.id.in_(oldest))
        .returning(*(_DELTAS.c[name] for name in ("sign", *Step._fields)))
    ).all()
    changes: dict[_RowKey, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for sign, *fields in taken:
        step = Step(*fields)
        step = step._replace(
            channel=str(step.channel), stage=str(step.stage), earlier_stage=str(step.earlier_stage)
        )
        changes[_RowKey(*step[:4])][sign < 0].append(_packed_step(step))
    _apply(connection, changes)
    return len(taken)


def _apply(
    connection: Connection, changes: dict[_RowKey, tuple[Any, Any]], *, empty: bool = False
) -> None:
    """Rewrite the rows the changes (steps added, steps taken back) touch; ``empty``: the table
    is known to be empty (a rebuild), so nothing is read or deleted first."""
    keys = sorted(changes)
    current: dict[_RowKey, bytes] = {}
    key_columns = tuple_(
        _ROLLUPS.c.team_id, _ROLLUPS.c.assignee_id, _ROLLUPS.c.chain, _ROLLUPS.c.day
    )
    for start in range(0, 0 if empty else len(keys), 500):
        chunk = keys[start : start + 500]
        for row in connection.execute(select(_ROLLUPS).where(key_columns.in_(chunk))):
            current[_RowKey(row.team_id, row.assignee_id, row.chain, row.day)] = row.packed
        connection.execute(delete(_ROLLUPS).where(key_columns.in_(chunk)))
    rows = []
    for key in keys:
        added, removed = changes[key]
        joined = np.concatenate((_unpack(current.get(key)), as_values(added)))
        steps = np.sort(without(joined, removed))
        if len(steps):
            rows.append({**key._asdict(), "packed": _pack(steps)})
    for start in range(0, len(rows), _BATCH):
        connection.execute(insert(_ROLLUPS), rows[start : start + _BATCH])


def fold_due() -> int:
    """The worker's job: fold every delta waiting, a batch per transaction; returns how many."""
    total = 0
    while True:
        folded = fold(db.session.connection())
        db.session.commit()
        total += folded
        if folded < FOLD_BATCH:
            return total


def rebuild(connection: Connection, timezone: str) -> int:
    """Work out every customer's steps again, on local days in ``timezone``; returns how many
    rows there are."""
    lock_folding(connection)
    connection.execute(delete(_DELTAS))
    connection.execute(delete(_ROLLUPS))
    zone = ZoneInfo(timezone)
    rows = connection.execute(
        _visits()
        .order_by(Ticket.customer_id, Ticket.created_at, Ticket.id)
        .execution_options(yield_per=_BATCH)
    )
    changes: dict[_RowKey, tuple[array, tuple[()]]] = defaultdict(lambda: (array("i"), ()))
    for _, visits in groupby(rows, key=lambda row: row[0]):
        for step in _steps(visits, zone):
            changes[_RowKey(*step[:4])][0].append(_packed_step(step))
    _apply(connection, changes, empty=True)
    return len(changes)


# --- reading ---------------------------------------------------------------------------------


def _rows(narrowing: Narrowing, chain: int) -> Any:
    """The range's rows of the chain its filters read, and the deltas not yet folded that
    count in it, in one statement: one snapshot, whatever the folder commits meanwhile."""
    rollup, delta = _ROLLUPS.c, _DELTAS.c
    team, assignee = narrowing.team_id or ANY, narrowing.agent_id or ANY
    delta_where = [
        delta.team_id == team,
        delta.assignee_id == assignee,
        delta.chain == chain,
        delta.day >= narrowing.first_day,
        delta.day <= narrowing.last_day,
        delta.earlier_day >= narrowing.first_day,
    ]
    if narrowing.channel:
        delta_where.append(delta.channel == narrowing.channel)
    if narrowing.proactive is not None:
        delta_where.append(delta.proactive.is_(narrowing.proactive))
    return db.session.connection().execute(
        union_all(
            select(
                rollup.day,
                rollup.packed,
                cast(null(), Integer),
                cast(null(), String),
                cast(null(), String),
            ).where(
                rollup.team_id == team,
                rollup.assignee_id == assignee,
                rollup.chain == chain,
                rollup.day >= narrowing.first_day,
                rollup.day <= narrowing.last_day,
            ),
            select(
                delta.day,
                cast(null(), LargeBinary),
                cast(delta.sign, Integer),
                type_coerce(delta.earlier_stage, String),
                type_coerce(delta.stage, String),
            ).where(*delta_where),
        )
    )


def flow(narrowing: Narrowing) -> dict[tuple[str, str], int]:
    """(previous stage, next stage) → how many of the range's steps went so, as its filters
    see them."""
    chain = (SAME_CHANNEL if narrowing.channel else 0) | (
        SAME_SOURCE if narrowing.proactive is not None else 0
    )
    counts = np.zeros(_PAIRS, dtype=np.int64)
    runs, reach = [], []
    for day, packed, sign, earlier_stage, stage in _rows(narrowing, chain):
        if packed is not None:
            runs.append(_unpack(packed))
            reach.append((day - narrowing.first_day).days)
        else:
            counts[_STAGES[earlier_stage] * len(Stage) + _STAGES[stage]] += sign
    if runs:
        steps = np.concatenate(runs)
        # A step counts when its previous request is on the range's first day or later.
        counted = (steps & ((1 << _GAP_BITS) - 1)) <= np.repeat(reach, [len(run) for run in runs])
        combo = (steps >> _GAP_BITS) // _PAIRS
        if narrowing.channel:
            counted &= combo // 2 == _CHANNELS[narrowing.channel]
        if narrowing.proactive is not None:
            counted &= combo % 2 == int(narrowing.proactive)
        counts += np.bincount((steps[counted] >> _GAP_BITS) % _PAIRS, minlength=_PAIRS)
    stages = list(Stage)
    return {
        (stages[pair // len(Stage)].value, stages[pair % len(Stage)].value): int(counts[pair])
        for pair in np.flatnonzero(counts)
    }
