"""Server time of the manager's journey-stage dashboard over a large database.

Usage: python bench/stage_report.py [--tickets N] [--database-url URL] [--days D] [--repeat R]

Fills a database of its own with N tickets (default 1,000,000 over two years, every channel,
stage and status) with the queue benchmark's generator (bench/agent_queue.py), unless it already
holds N tickets. The report's per-ticket figures come from the generated timestamps (the
migration derives first-response and resolution seconds); reopens and SLA targets and
breaches are spread over the tickets once.

It then requests /reports/stages for the last D days (default 90) as a logged-in manager
through the Flask test client — the whole server side: the stage table with its per-channel
percentiles, arrivals per day, the backlog by age, the journey flow and the page render — plus
the same range from the API (/api/v1/reports/stage-load). Each runs R times (default 20) after
warming up; it prints the median and p95 in milliseconds. Target: p95 <= 300 ms at 1M tickets.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import agent_queue as filling
from sqlalchemy.engine import make_url

MANAGER = "bench-manager@helpdesk.test"
PASSWORD = "bench password"


def database_url(url: str | None, count: int) -> str:
    """The benchmark's own database, apart from the queue benchmark's (they migrate apart)."""
    if not url:
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'helpdesk_stage_bench_{count}.sqlite3'}"
    server = make_url(url).set(drivername="postgresql+psycopg")
    return server.set(database=f"helpdesk_stage_bench_{count}").render_as_string(False)


def derive_report_figures() -> None:
    """Fill the figures the ticket service keeps on each ticket, from the generated times."""
    from sqlalchemy import case, select, update

    from helpdesk.extensions import db
    from helpdesk.models import Ticket
    from helpdesk.reports.sql import epoch_seconds

    if db.session.scalar(select(Ticket.id).where(Ticket.first_response_due_at.is_not(None))):
        return
    started = time.perf_counter()
    db.session.execute(
        update(Ticket).values(
            first_response_seconds=epoch_seconds(Ticket.first_response_at)
            - epoch_seconds(Ticket.created_at),
            resolution_seconds=epoch_seconds(Ticket.solved_at) - epoch_seconds(Ticket.created_at),
            # About one ticket in 14 came back after being solved.
            reopen_count=case((Ticket.id % 14 == 0, 1), else_=0),
            # A third had a first-response target; a third of those missed it.
            first_response_due_at=case((Ticket.id % 3 == 0, Ticket.created_at), else_=None),
            first_response_breached_at=case((Ticket.id % 9 == 0, Ticket.created_at), else_=None),
        )
    )
    db.session.commit()
    print(f"  report figures derived in {time.perf_counter() - started:.0f} s")


def manager_client(app):
    """A test client logged in as a manager (created on first use)."""
    from helpdesk import accounts
    from helpdesk.extensions import db

    if accounts.user_by_email(MANAGER) is None:
        accounts.create_user(MANAGER, PASSWORD, "manager", "Bench Manager")
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": MANAGER, "password": PASSWORD})
    return client


def measure(request: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(3):
        request()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        request()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--database-url", help="a PostgreSQL server; default a SQLite file")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from helpdesk.extensions import db
    from helpdesk.models import Ticket
    from helpdesk.tickets.queries import start_of_day

    url = database_url(args.database_url, args.tickets)
    filled = filling.holds(url, args.tickets)
    if not filled:
        filling.fresh_database(url, args.database_url)
    with tempfile.TemporaryDirectory() as storage:
        app = filling.bench_app(url, storage)
        with app.app_context():
            print(f"{db.engine.dialect.name}, {args.tickets:,} tickets: {url}")
            upgrade()
            if not filled:
                with db.engine.connect() as connection:
                    filling.fill(connection, args.tickets)
            derive_report_figures()
            last = db.session.scalar(select(func.max(Ticket.created_at))).date()
            first = last - timedelta(days=args.days - 1)
            in_range = db.session.scalar(
                select(func.count()).where(Ticket.created_at >= start_of_day(first))
            )
            client = manager_client(app)
            token = manager_token()
            db.session.remove()
        query = f"from={first}&to={last}"
        print(f"  range {first} to {last}: about {in_range:,} tickets")
        requests = {
            "dashboard page": lambda: _ok(client.get(f"/reports/stages?{query}")),
            "dashboard, channel=sms": lambda: _ok(
                client.get(f"/reports/stages?{query}&channel=sms")
            ),
            "API stage-load": lambda: _ok(
                client.get(
                    f"/api/v1/reports/stage-load?{query}",
                    headers={"Authorization": f"Bearer {token}"},
                )
            ),
        }
        print(f"{'request':<28} {'median ms':>10} {'p95 ms':>8}")
        for name, request in requests.items():
            timings = measure(request, args.repeat)
            p95 = timings[min(len(timings) - 1, round(0.95 * len(timings)) - 1)]
            print(f"{name:<28} {statistics.median(timings):>10.1f} {p95:>8.1f}")
        with app.app_context():
            db.engine.dispose()


def manager_token() -> str:
    """A fresh API token of the bench manager."""
    from helpdesk import accounts
    from helpdesk.extensions import db

    minted = accounts.mint_token(accounts.user_by_email(MANAGER))
    db.session.commit()
    return minted.secret


def _ok(response):
    assert response.status_code == 200, response.status_code
    return response


if __name__ == "__main__":
    main()
