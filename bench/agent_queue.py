"""Server time of the agent queue's queries at scale: first page, deep page, filters, search.

Usage: python bench/agent_queue.py [--sizes N,N,...] [--database-url URL] [--reuse] [--repeat R]
                                   [--label NAME]

For each size N (default 1,000,000; e.g. ``--sizes 10000,100000,1000000`` to see how cost grows),
fills a database with N tickets spread over the last two years, each with
at least one inbound message, many with agent replies, customer follow-ups and internal notes,
across every channel, stage, status and priority, most assigned to one of 20 agents. Rows go
in with bulk inserts (executemany on SQLite, COPY on PostgreSQL) while the secondary indexes
are dropped, and the indexes are rebuilt afterwards exactly as the migrations define them.

Then, inside an app context, it times what the queue page does per request: ``ticket_page``
plus ``status_counts`` for the same filters, and the rows serialised to dicts. Every case runs
R times (default 30) on a fresh session after warming up; it prints the median and p95. Last,
it requests whole queue pages and customer lists through the Flask test client as a logged-in
agent (session, queries and template: the server time of the page). With several sizes, a last
table sets each case's p95 (wall and CPU) side by side, size by size.

Without --database-url the database is a SQLite file in the temp folder; a PostgreSQL URL gets
a database of its own on that server (``helpdesk_queue_bench_N``, or ``…_N_NAME`` with
--label NAME). Either is kept afterwards, so --reuse measures again without refilling when it
holds N tickets (after bringing its schema up to the newest migration).
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url

AGENTS = 20
# Assigned tickets are shared by four teams, for the team filter.
TEAMS = 4
# Customer 3 has an email address, customer 4 a phone number (see Filler.people).
SEARCHED_EMAIL = "customer3@example.test"
SEARCHED_PHONE = "+1 (555) 000-0004"
CHUNK = 20_000
SLOW_CASE_BUDGET_MS = 15_000
SPAN = timedelta(days=730)
STATUSES_BY_AGE = [
    # (newer than, {status: weight}): the older a ticket, the likelier it is done with.
    (timedelta(days=2), {"new": 50, "open": 30, "pending": 10, "solved": 10}),
    (timedelta(days=30), {"new": 3, "open": 20, "pending": 15, "solved": 30, "closed": 32}),
    (SPAN * 2, {"open": 0.5, "pending": 0.5, "solved": 5, "closed": 94}),
]
PRIORITIES = {"low": 20, "normal": 60, "high": 15, "urgent": 5}
CHANNELS = {"email": 50, "sms": 25, "chat": 25}
STAGES = {
    "awareness": 5,
    "discovery": 8,
    "attraction": 7,
    "interaction": 10,
    "purchase": 20,
    "use": 30,
    "cultivation": 8,
    "advocacy": 4,
    "unknown": 8,
}
# A word list reads best as words.
BRANDS = (  # noqa: SIM905
    "aurora zephyr nimbus solstice ember cobalt juniper quartz tundra sierra meridian "
    "halcyon orchid falcon granite willow lumen vertex atlas nova cascade harbor summit "
    "coral pioneer mistral sable ionic terra polaris"
).split()
PRODUCTS = (  # noqa: SIM905
    "thermostat router headphones kettle blender vacuum speaker camera doorbell lamp "
    "charger backpack jacket sneakers watch tablet keyboard monitor printer scooter "
    "mattress toaster purifier humidifier projector drone microwave dishwasher smartphone "
    "earbuds"
).split()
ISSUES = [
    ("Refund request", "I would like a refund for the {item}, it is not what I expected."),
    ("Delivery delayed", "My {item} has not arrived yet and the tracking has not moved."),
    ("Arrived damaged", "The {item} arrived damaged, the box was crushed and it rattles."),
    (
        "Cannot log in",
        "I cannot log in to my account to register the {item}, password reset fails.",
    ),
    ("Invoice question", "The invoice for the {item} shows the wrong address and VAT number."),
    ("Warranty claim", "The {item} stopped working after three months, is it under warranty?"),
    ("Exchange size", "Can I exchange the {item} for another size or colour?"),
    ("Discount code", "The discount code did not apply when I bought the {item}."),
    ("Cancel order", "Please cancel my order for the {item} before it ships."),
    ("Subscription", "How do I pause the subscription that came with the {item}?"),
    ("Setup help", "I need help setting up the {item}, the app does not find it."),
    ("Double charge", "I was charged twice for the {item}, please check my card."),
    ("Missing part", "The {item} came without the charger cable and the manual."),
    ("Pricing question", "Is there a bundle price for the {item} and do you ship abroad?"),
]
GREETINGS = ["Hello,", "Hi there,", "Good morning,", "Dear support,", "Hey,", ""]
CLOSINGS = ["Thanks.", "Thank you in advance.", "Best regards.", "Cheers.", "Kind regards.", ""]
REPLIES = [
    "Thanks for reaching out. We have issued a return label for your {item}.",
    "Sorry about the trouble with your {item}. A replacement ships tomorrow.",
    "We checked with the courier: your {item} is at the local depot.",
    "Your refund for the {item} has been processed and shows in 3 to 5 days.",
    "Please try resetting the {item} by holding the button for ten seconds.",
]
NOTES = [
    "Customer called as well, VIP account.",
    "Escalated to the warehouse team.",
    "Checked the payment provider, one charge was reversed.",
    "Possible fraud, verify the address before shipping.",
]
FIRST_NAMES = (  # noqa: SIM905
    "Ada Grace Alan Linus Margaret Barbara Dennis Ken Radia Frances Edsger Donald"
).split()
LAST_NAMES = (  # noqa: SIM905
    "Lovelace Hopper Turing Torvalds Hamilton Liskov Ritchie Thompson Perlman"
).split()


def pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


# --- filling ----------------------------------------------------------------------------------


class Filler:
    """Makes the rows of N tickets, chunk by chunk, from one seed."""

    def __init__(self, count: int, now: datetime, seed: int = 11) -> None:
        self.count = count
        self.customers = max(count // 2, 1)
        self.start = now - SPAN
        self.now = now
        self.rng = random.Random(seed)
        self.message_id = 0

    def tickets(self, first: int, last: int) -> Iterator[tuple[tuple, list[tuple], list[str]]]:
        """(ticket row, message rows, words) for ticket ids first..last."""
        from helpdesk.tickets.search import property_word, words

        rng = self.rng
        step = SPAN / self.count
        for ticket_id in range(first, last + 1):
            created = self.start + step * (ticket_id - 1 + rng.random())
            age = self.now - created
            status = pick(rng, next(w for limit, w in STATUSES_BY_AGE if age < limit))
            channel = pick(rng, CHANNELS)
            endpoint = {"email": 1 if rng.random() < 0.8 else 2, "sms": 3, "chat": 4}[channel]
            customer = rng.randrange(self.customers) + 1
            assigned = rng.random() < (0.1 if status == "new" else 0.92)
            assignee = rng.randrange(AGENTS) + 1 if assigned else None
            team = assignee % TEAMS + 1 if assignee else None
            stage = pick(rng, STAGES)
            title, sentence = rng.choice(ISSUES)
            item = f"{rng.choice(BRANDS)} {rng.choice(PRODUCTS)}"
            order = f"order {rng.randrange(1_000_000, 9_999_999)}"
            body = " ".join(
                part
                for part in (
                    rng.choice(GREETINGS),
                    sentence.format(item=item.title()),
                    f"It was {order}.",
                    rng.choice(CLOSINGS),
                )
                if part
            )
            subject = f"{title}: {item.title()}" if channel == "email" else body[:80]
            messages, last_customer, first_response, last_at = self._messages(
                ticket_id, channel, endpoint, customer, created, status, body, item, assignee
            )
            solved = last_at + timedelta(hours=20) if status in ("solved", "closed") else None
            priority = pick(rng, PRIORITIES)
            row = (
                ticket_id,
                ticket_id,
                subject,
                status,
                priority,
                channel,
                endpoint,
                f"conv-{customer}" if channel == "chat" else None,
                stage,
                stage,
                None,
                "rule" if stage != "unknown" else "none",
                "bench data",
                assignee,
                team,
                customer,
                None,
                created,
                solved or last_at,
                last_customer,
                first_response,
                solved,
            )
            found = words(subject)
            for message in messages:
                found += words(message[9])
            # The index row ends with the ticket's property words, as the app writes them.
            properties = {
                "status": status,
                "stage": stage,
                "channel": channel,
                "priority": priority,
                "assignee_id": assignee,
                "team_id": team,
            }
            found += [property_word(name, value) for name, value in properties.items()]
            yield row, messages, list(dict.fromkeys(found))

    def _messages(self, ticket_id, channel, endpoint, customer, created, status, body, item, agent):
        rng = self.rng
        automatic = rng.random() < 0.03
        rows = [
            self._message(ticket_id, "inbound", channel, endpoint, None, body, created, automatic)
        ]
        last_customer = None if automatic else created
        at = created
        first_response = None
        if status != "new" and rng.random() < 0.85:
            at += timedelta(minutes=rng.randrange(5, 600))
            reply = rng.choice(REPLIES).format(item=item)
            rows.append(self._message(ticket_id, "outbound", channel, endpoint, agent, reply, at))
            first_response = at
            if rng.random() < 0.3:
                at += timedelta(minutes=rng.randrange(10, 2000))
                again = f"Thanks, but the {item} still does not work. Any update?"
                rows.append(self._message(ticket_id, "inbound", channel, endpoint, None, again, at))
                last_customer = at
        if rng.random() < 0.12:
            at += timedelta(minutes=rng.randrange(1, 60))
            note = rng.choice(NOTES)
            rows.append(self._message(ticket_id, "note", channel, endpoint, agent, note, at))
        return rows, last_customer, first_response, at

    def _message(
        self, ticket_id, direction, channel, endpoint, author, body, at, automatic=False
    ) -> tuple:
        self.message_id += 1
        n = self.message_id
        external = {"inbound": f"bench-in-{n}", "outbound": f"bench-out-{n}"}.get(direction)
        return (
            n,
            ticket_id,
            direction,
            channel,
            endpoint,
            author if direction != "inbound" else None,
            None if direction == "note" else f"sender-{ticket_id}",
            None,
            None,
            body,
            None,
            external,
            None,
            automatic,
            "bench data",
            "delivered" if direction == "outbound" else None,
            None,
            None,
            1 if direction == "outbound" else 0,
            None,
            None,
            at,
        )

    def people(self) -> tuple[list[tuple], ...]:
        """Users, teams, endpoints, customers and their identities."""
        rng = self.rng
        users = [
            (n, f"agent{n}@helpdesk.test", f"Agent {n}", "agent", "!", True, False, self.start)
            for n in range(1, AGENTS + 1)
        ]
        teams = [(n, f"Line {n}", self.start) for n in range(1, TEAMS + 1)]
        endpoints = [
            (1, "email", "support@shop.test", "{}", self.start),
            (2, "email", "sales@shop.test", "{}", self.start),
            (3, "sms", "+15550001000", "{}", self.start),
            (4, "chat", "shop.test", "{}", self.start),
        ]
        customers, identities = [], []
        for n in range(1, self.customers + 1):
            named = rng.random() < 0.7
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" if named else None
            customers.append((n, name, self.start))
            kind, value = [
                ("email", f"customer{n}@example.test"),
                ("phone", f"+1555{n:07d}"),
                ("visitor", f"visitor-{n}"),
            ][n % 3]
            # Proven: each came with a message from it.
            identities.append((n, n, kind, value, self.start, self.start))
        return users, teams, endpoints, customers, identities


COLUMNS = {
    "users": "id, email, name, role, password_hash, active, available, created_at",
    "teams": "id, name, created_at",
    "endpoints": "id, channel, address, settings, created_at",
    "customers": "id, name, created_at",
    "customer_identities": "id, customer_id, kind, value, verified_at, created_at",
    "tickets": (
        "id, number, subject, status, priority, channel, endpoint_id, conversation_id, stage, "
        "intake_stage, intake_rule, stage_source, stage_reason, assignee_id, team_id, customer_id, "
        "previous_ticket_id, created_at, updated_at, last_customer_message_at, "
        "first_response_at, solved_at"
    ),
    "messages": (
        "id, ticket_id, direction, channel, endpoint_id, author_id, sender, recipient, subject, "
        "text, html, external_id, raw_ref, auto_submitted, thread_reason, delivery_state, "
        "error_code, error_text, attempt_count, next_attempt_at, lease_until, created_at"
    ),
}


class SqliteLoader:
    """executemany into one SQLite file, timestamps in SQLAlchemy's storage format."""

    def __init__(self, connection: Connection) -> None:
        self.raw = connection.connection.driver_connection
        self.raw.execute("PRAGMA synchronous=OFF")

    def secondary_indexes(self) -> list[tuple[str, str]]:
        return self.raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            "AND tbl_name IN ('tickets', 'messages', 'customers', 'customer_identities')"
        ).fetchall()

    def run(self, statement: str) -> None:
        self.raw.execute(statement)

    def insert(self, table: str, rows: list[tuple]) -> None:
        columns = COLUMNS[table]
        marks = ", ".join("?" for _ in columns.split(","))
        self.raw.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks})", [self._row(r) for r in rows]
        )

    def insert_words(self, rows: list[tuple[int, list[str]]]) -> None:
        self.raw.executemany(
            "INSERT INTO ticket_search (rowid, words) VALUES (?, ?)",
            [(ticket_id, " ".join(found)) for ticket_id, found in rows],
        )

    def commit(self) -> None:
        self.raw.commit()

    def finish(self) -> None:
        # Merge the FTS segments the bulk load wrote, then give the planner statistics.
        self.raw.execute("INSERT INTO ticket_search (ticket_search) VALUES ('optimize')")
        self.raw.execute("ANALYZE")
        self.raw.commit()

    @staticmethod
    def _row(row: tuple) -> tuple:
        return tuple(
            value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
            if isinstance(value, datetime)
            else value
            for value in row
        )


class PostgresLoader:
    """COPY into PostgreSQL with foreign-key triggers off during the load (superuser)."""

    def __init__(self, connection: Connection) -> None:
        self.raw = connection.connection.driver_connection
        with self.raw.cursor() as cursor:
            cursor.execute("SET session_replication_role = replica")
            cursor.execute("SET maintenance_work_mem = '1GB'")

    def secondary_indexes(self) -> list[tuple[str, str]]:
        with self.raw.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename IN ('tickets', 'messages', 'customers', 'customer_identities', "
                "'ticket_search') AND indexname NOT IN "
                "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"
            )
            return cursor.fetchall()

    def run(self, statement: str) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute(statement)

    def insert(self, table: str, rows: list[tuple]) -> None:
        with (
            self.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({COLUMNS[table]}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)

    def insert_words(self, rows: list[tuple[int, list[str]]]) -> None:
        with (
            self.raw.cursor() as cursor,
            cursor.copy("COPY ticket_search (ticket_id, words) FROM STDIN") as copy,
        ):
            for ticket_id, found in rows:
                # tsvector input with quoted lexemes: taken as they are, like array_to_tsvector.
                copy.write_row((ticket_id, " ".join(f"'{word}'" for word in found)))

    def commit(self) -> None:
        self.raw.commit()

    def finish(self) -> None:
        # The index's list of words, as the app keeps it (migration 0040).
        self.run(
            "INSERT INTO ticket_search_terms (term) "
            "SELECT DISTINCT unnest(tsvector_to_array(words)) FROM ticket_search "
            "ON CONFLICT DO NOTHING"
        )
        self.raw.commit()
        self.raw.autocommit = True
        with self.raw.cursor() as cursor:
            cursor.execute("SET session_replication_role = origin")
            cursor.execute("VACUUM ANALYZE")
        self.raw.autocommit = False


def fill(connection: Connection, count: int) -> None:
    """N tickets with their people and messages, indexes rebuilt after the load."""
    loader_type = PostgresLoader if connection.dialect.name == "postgresql" else SqliteLoader
    loader = loader_type(connection)
    filler = Filler(count, datetime.now(UTC).replace(minute=0, second=0, microsecond=0))
    started = time.perf_counter()
    indexes = loader.secondary_indexes()
    for name, _ in indexes:
        loader.run(f"DROP INDEX {name}")
    users, teams, endpoints, customers, identities = filler.people()
    for table, rows in [
        ("users", users),
        ("teams", teams),
        ("endpoints", endpoints),
        ("customers", customers),
        ("customer_identities", identities),
    ]:
        loader.insert(table, rows)
    loader.run(f"INSERT INTO counters (name, value) VALUES ('ticket', {count})")
    if connection.dialect.name == "postgresql":
        loader.run(f"SELECT setval('ticket_numbers', {count})")  # the next ticket's number
        # Rows went in with their ids: move the id sequences past them, so the page report can
        # add its agent.
        for table in ("users", "teams", "customers", "customer_identities"):
            sequence = f"pg_get_serial_sequence('{table}', 'id')"
            loader.run(f"SELECT setval({sequence}, max(id)) FROM {table}")
    messages_total = 0
    for first in range(1, count + 1, CHUNK):
        made = list(filler.tickets(first, min(first + CHUNK - 1, count)))
        loader.insert("tickets", [row for row, _, _ in made])
        messages = [message for _, ticket_messages, _ in made for message in ticket_messages]
        loader.insert("messages", messages)
        loader.insert_words([(row[0], found) for row, _, found in made])
        loader.commit()
        messages_total += len(messages)
        print(f"\r  {first + len(made) - 1:,} tickets", end="", flush=True)
    loaded = time.perf_counter()
    print(f", {messages_total:,} messages loaded in {loaded - started:.0f} s")
    for _, definition in indexes:
        loader.run(definition)
    loader.commit()
    loader.finish()
    print(f"  indexes built and statistics gathered in {time.perf_counter() - loaded:.0f} s")


# --- measuring --------------------------------------------------------------------------------


def cases(deep_cursor: str, order_number: str, count: int) -> list[tuple[str, dict, str | None]]:
    """(name, query-string arguments, cursor) as the queue page would receive them."""
    number = count // 3
    return [
        ("first page", {}, None),
        ("deep page (90% down)", {}, deep_cursor),
        ("deep page, status=closed", {"status": "closed"}, deep_cursor),
        ("status=open", {"status": "open"}, None),
        ("stage=purchase&channel=sms", {"stage": "purchase", "channel": "sms"}, None),
        ("assignee=none&priority=urgent", {"assignee": "none", "priority": "urgent"}, None),
        ("q=zephyr thermostat", {"q": "zephyr thermostat"}, None),
        (f"q={order_number} (one ticket)", {"q": order_number}, None),
        ("q=xylophone (no hit)", {"q": "xylophone"}, None),
        ("q=refund (common word)", {"q": "refund"}, None),
        ("q=refund&status=open", {"q": "refund", "status": "open"}, None),
        ("q=refund&stage=purchase", {"q": "refund", "stage": "purchase"}, None),
        ("q=refund&channel=sms", {"q": "refund", "channel": "sms"}, None),
        ("q=refund&priority=urgent", {"q": "refund", "priority": "urgent"}, None),
        ("q=refund&assignee=3", {"q": "refund", "assignee": "3"}, None),
        ("q=refund&assignee=none", {"q": "refund", "assignee": "none"}, None),
        ("q=refund&team=2", {"q": "refund", "team": "2"}, None),
        (
            "q=refund&stage=use&status=closed",
            {"q": "refund", "stage": "use", "status": "closed"},
            None,
        ),
        ("q=refund charged (two words)", {"q": "refund charged"}, None),
        ("q=thanks order (two common words)", {"q": "thanks order"}, None),
        ("q=aurora (word in 3 %)", {"q": "aurora"}, None),
        ("q=thermo* (prefix)", {"q": "thermo*"}, None),
        ("q=ref* (common prefix)", {"q": "ref*"}, None),
        ("q=refun*&status=pending", {"q": "refun*", "status": "pending"}, None),
        ("q=re* (prefix of 13 words)", {"q": "re*"}, None),
        ("q=12* (prefix of >40 words)", {"q": "12*"}, None),
        ("q=12*&stage=purchase", {"q": "12*", "stage": "purchase"}, None),
        (f"q=#{number} (ticket number)", {"q": f"#{number}"}, None),
        (f"q={SEARCHED_EMAIL} (email)", {"q": SEARCHED_EMAIL}, None),
        (f"q={SEARCHED_PHONE} (phone)", {"q": SEARCHED_PHONE}, None),
        ("status=new,open&sort=waiting", {"status": "new,open", "sort": "waiting"}, None),
        ("sort=priority", {"sort": "priority"}, None),
        ("q=refund&sort=priority", {"q": "refund", "sort": "priority"}, None),
        ("q=refund&sort=due", {"q": "refund", "sort": "due"}, None),
        ("q=refund&sort=waiting", {"q": "refund", "sort": "waiting"}, None),
        ("q=refund, deep page", {"q": "refund"}, deep_cursor),
    ]


def measure(
    case: Callable[[], object], repeat: int, server: bool = False
) -> tuple[list[float], list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds of each run, after three warm-ups; with
    ``server``, also the CPU the PostgreSQL backend of the app's session spent on it."""
    from helpdesk.extensions import db

    for _ in range(3):
        case()
        db.session.remove()
    wall: list[float] = []
    cpu: list[float] = []
    server_cpu: list[float] = []
    for _ in range(repeat):
        backend = backend_cpu_ms() if server else None
        started, started_cpu = time.perf_counter(), time.process_time()
        case()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        if backend is not None:
            server_cpu.append(backend_cpu_ms() - backend)
        db.session.remove()
        if sum(wall) > SLOW_CASE_BUDGET_MS and len(wall) >= 5:
            break  # a case this slow has made its point
    return sorted(wall), sorted(cpu), server_cpu


def backend_cpu_ms() -> float | None:
    """CPU milliseconds the PostgreSQL backend of the app's session has used so far (the server
    runs on this machine); None on SQLite, where this process does all the work."""
    from helpdesk.extensions import db

    if db.engine.dialect.name != "postgresql":
        return None
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    # Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def p95(timings: list[float]) -> float:
    """The nearest-rank 95th percentile of sorted timings."""
    return timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]


def queue_request(args: dict, cursor: str | None) -> Callable[[], object]:
    """What the queue page does for one request: list, counts, rows to dicts."""
    from helpdesk.tickets import queries
    from helpdesk.web.api.schemas import TicketSummary

    def run() -> object:
        filters = queries.TicketFilter.from_args(args, me=1)
        sort = queries.parse_sort(args.get("sort"))
        page = queries.ticket_page(filters, queries.DEFAULT_LIMIT, cursor, sort)
        counts = {status.value: str(n) for status, n in queries.status_counts(filters).items()}
        return [TicketSummary.model_validate(t).model_dump(mode="json") for t in page.items], counts

    return run


# (case name, [wall median, wall p95, CPU median, CPU p95]) in the order measured.
Figures = list[tuple[str, list[float]]]


def timed(case: Callable[[], object], repeat: int, server: bool = False) -> tuple[list[float], int]:
    """Median and p95 of wall-clock and CPU milliseconds, the mean server CPU (PostgreSQL, with
    ``server``; the clock ticks in 10 ms, so only a mean over the runs says anything), and how
    many runs they come from."""
    wall, cpu, server_cpu = measure(case, repeat, server)
    server_mean = statistics.mean(server_cpu) if server_cpu else math.nan
    return [statistics.median(wall), p95(wall), statistics.median(cpu), p95(cpu), server_mean], len(
        wall
    )


def shown(figures: list[float]) -> str:
    """Figures in columns; one not measured (the server's CPU on SQLite) as a dash."""
    return " ".join("      -" if math.isnan(figure) else f"{figure:>7.1f}" for figure in figures)


def report(count: int, repeat: int) -> Figures:
    """Time every case of ``cases`` as ``queue_request``, print and return the figures."""
    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.models import Message, Ticket
    from helpdesk.tickets import queries

    deep = db.session.scalars(
        select(Ticket)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .offset(int(count * 0.9))
        .limit(1)
    ).one()
    deep_cursor = queries.cursor_for(deep)
    some_text = db.session.scalar(
        select(Message.text).where(Message.ticket_id == count // 3).order_by(Message.id)
    )
    order_number = re.search(r"order (\d{7})", some_text).group(1)
    db.session.remove()
    print(f"load average {load_average()} on {os.cpu_count()} cores")
    # CPU is this process's: all the work on SQLite, only the client's share on PostgreSQL,
    # whose server's share is the last column.
    print(f"{'':<33} {'wall ms':^15} {'CPU ms':^15} {'server':>7}")
    print(
        f"{'case':<33} {'median':>7} {'p95':>7} {'median':>7} {'p95':>7} {'mean':>7} runs rows"
        "  counts"
    )
    found: Figures = []
    for name, args, cursor in cases(deep_cursor, order_number, count):
        rows, counts = queue_request(args, cursor)()
        db.session.remove()
        figures, runs = timed(queue_request(args, cursor), repeat, server=True)
        counted = " ".join(f"{status[:2]}={value}" for status, value in counts.items())
        print(f"{name:<33} {shown(figures)} {runs:>4} {len(rows):>4}  {counted}")
        # The numbers in a case's name differ from size to size; the growth table keys on the rest.
        found.append((re.sub(r"(?<=q=)#?\d+(?= \()", "N", name), figures))
    return found


def load_average() -> str:
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


PAGES = (
    ("page: open work", "/tickets?status=new,open,pending"),
    ("page: stage=purchase&channel=sms", "/tickets?stage=purchase&channel=sms"),
    ("page: q=zephyr thermostat", "/tickets?q=zephyr+thermostat"),
    ("page: customers", "/customers"),
    ("page: customers, q=phone", f"/customers?q={quote(SEARCHED_PHONE)}"),
    ("page: customers, q=email", f"/customers?q={quote(SEARCHED_EMAIL)}"),
)


def page_report(app, repeat: int) -> Figures:
    """The whole queue page as an agent's browser gets it: session, queries, template."""
    from helpdesk import accounts
    from helpdesk.extensions import db

    email, password = "bench-agent@helpdesk.test", "bench password"
    if accounts.user_by_email(email) is None:
        accounts.create_user(email, password, "agent", "Bench Agent")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": email, "password": password})
    found: Figures = []
    for name, path in PAGES:

        def request(path: str = path) -> None:
            assert client.get(path).status_code == 200

        figures, runs = timed(request, repeat)
        print(f"{name:<33} {shown(figures)} {runs:>4}")
        found.append((name, figures))
    return found


def growth_report(by_size: dict[int, Figures]) -> None:
    """Each case's p95, wall and CPU, at every size measured: how cost grows with the tickets;
    on PostgreSQL also the server's mean CPU."""
    sizes = list(by_size)
    print(f"\np95 ms by size, wall / CPU [/ server CPU mean] (load average {load_average()})")
    print(f"{'case':<33} " + " ".join(f"{size:>23,}" for size in sizes))
    for n, (name, _) in enumerate(by_size[sizes[0]]):
        cells = [by_size[size][n][1] for size in sizes]
        print(f"{name:<33} " + " ".join(shown([c[1], c[3], c[4]]) for c in cells))


# --- the database -----------------------------------------------------------------------------


def database_url(url: str | None, count: int, label: str = "") -> str:
    """The benchmark's own database: a file in the temp folder, or one on the given server;
    ``label`` tells apart the databases of benches run side by side."""
    name = f"helpdesk_queue_bench_{count}" + (f"_{label}" if label else "")
    if not url:
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'{name}.sqlite3'}"
    server = make_url(url).set(drivername="postgresql+psycopg")
    return server.set(database=name).render_as_string(False)


def fresh_database(url: str, server_url: str | None) -> None:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        for leftover in (
            path,
            path.with_name(path.name + "-wal"),
            path.with_name(path.name + "-shm"),
        ):
            leftover.unlink(missing_ok=True)
        return
    name = make_url(url).database
    admin = create_engine(
        make_url(server_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def holds(url: str, count: int) -> bool:
    """Whether the database exists and holds N tickets."""
    engine = create_engine(make_url(url))
    try:
        with engine.connect() as conn:
            return conn.scalar(text("SELECT count(*) FROM tickets")) == count
    except Exception:
        return False
    finally:
        engine.dispose()


def bench_app(url: str, storage: str):
    """The helpdesk on the bench database; forms without CSRF so a test client can log in."""
    from helpdesk import create_app

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage, "WTF_CSRF_ENABLED": False}
    )
    gc.freeze()  # as wsgi.py does: the collector's full passes skip what start-up built
    return app


def sizes(value: str) -> list[int]:
    """``--sizes``: ticket counts separated by commas."""
    return [int(part) for part in value.split(",")]


def measure_size(
    count: int, server_url: str | None, reuse: bool, repeat: int, label: str
) -> Figures:
    """Fill (or reuse) the database of ``count`` tickets and measure it."""
    from flask_migrate import upgrade

    from helpdesk.extensions import db

    url = database_url(server_url, count, label)
    reused = reuse and holds(url, count)
    if not reused:
        fresh_database(url, server_url)
    with tempfile.TemporaryDirectory() as storage:
        app = bench_app(url, storage)
        with app.app_context():
            print(f"\n{db.engine.dialect.name}, {count:,} tickets: {url}")
            if reused:
                print("  reusing the filled database")
            # A reused database still takes the migrations written since it was filled.
            upgrade()
            if not reused:
                with db.engine.connect() as connection:
                    fill(connection, count)
            figures = report(count, repeat) + page_report(app, repeat)
            db.engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=sizes, default=[1_000_000], help="e.g. 10000,100000")
    parser.add_argument("--database-url", help="a PostgreSQL server; default a SQLite file")
    parser.add_argument("--reuse", action="store_true", help="keep a database already filled")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--label", default="", help="added to the database's name")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    by_size = {
        count: measure_size(count, args.database_url, args.reuse, args.repeat, args.label)
        for count in args.sizes
    }
    if len(by_size) > 1:
        growth_report(by_size)


if __name__ == "__main__":
    main()
