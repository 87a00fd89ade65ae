"""Server time of the manager's journey-stage dashboard over large databases.

Usage: python bench/stage_report.py [--sizes N,N,...] [--database-url URL] [--days D]
                                    [--repeat R] [--reuse] [--tag NAME]

For each size (default 10,000, 100,000 and 1,000,000 tickets over two years, every channel,
stage and status) it fills a database of its own with the queue benchmark's generator
(bench/agent_queue.py); --reuse keeps one that already holds N tickets; --tag adds a word to
the database's name, so several people measuring on one server keep apart. The report's per-ticket
figures come from the generated timestamps (first-response and resolution seconds); reopens,
SLA targets and breaches are spread over the tickets once; the rollups are then rebuilt (the
filler's bulk inserts bypass the change hooks), and a few hundred changes made through the
ticket service are left unfolded, as the worker would find them between two turns.

It then times, for the last D days (default 365) as a logged-in manager, each part of the
dashboard apart (the stage table of both periods, arrivals per day, backlog by age, journey
flow, the CSV's survey figures) and whole requests through the Flask test client: the page,
the page filtered by channel, agent, team and source, the CSV and the API. Each runs R times
(default 20) after warming up; it prints the median and p95 in wall-clock milliseconds and the
median process CPU milliseconds (the bench process only: PostgreSQL's own work is not in it),
with the load average. Target: p95 <= 300 ms at 1M tickets.
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


def database_url(url: str | None, count: int, tag: str = "") -> str:
    """The benchmark's own database, apart from the queue benchmark's (they migrate apart)."""
    name = f"helpdesk_stage_bench_{count}{f'_{tag}' if tag else ''}"
    if not url:
        return f"sqlite:///{Path(tempfile.gettempdir()) / f'{name}.sqlite3'}"
    server = make_url(url).set(drivername="postgresql+psycopg")
    return server.set(database=name).render_as_string(False)


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
    # Fresh statistics (and on PostgreSQL a visibility map, for index-only scans), as
    # autovacuum leaves them on a live database: the bulk update just rewrote every row.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        postgresql = connection.dialect.name == "postgresql"
        connection.exec_driver_sql("VACUUM ANALYZE tickets" if postgresql else "ANALYZE")
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


def measure(request: Callable[[], object], repeat: int) -> tuple[float, float, float]:
    """Median and p95 wall-clock ms and median CPU ms of ``repeat`` calls, after warming up."""
    for _ in range(3):
        request()
    walls, cpus = [], []
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        request()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    walls.sort()
    p95 = walls[min(len(walls) - 1, round(0.95 * len(walls)) - 1)]
    return statistics.median(walls), p95, statistics.median(cpus)


def rebuild_rollups(app) -> None:
    """Count the filled tickets into the rollups (bulk inserts bypass the change hooks)."""
    from sqlalchemy import func, select

    from helpdesk.extensions import db
    from helpdesk.models import JourneyRollup, StageRollup
    from helpdesk.reports import journey_rows, rollup_rows

    for name, table, rebuild in (
        ("rollups", StageRollup, rollup_rows.rebuild),
        ("journey rollups", JourneyRollup, journey_rows.rebuild),
    ):
        if db.session.scalar(select(func.count()).select_from(table)):
            continue
        started = time.perf_counter()
        rows = rebuild(db.session.connection(), app.config["HELPDESK_TIMEZONE"])
        db.session.commit()
        print(f"  {name} rebuilt in {time.perf_counter() - started:.0f} s: {rows:,} rows")


def unfolded_changes(count: int) -> None:
    """Stage corrections through the ticket service, left for the worker to fold."""
    from sqlalchemy import select

    from helpdesk import accounts
    from helpdesk.extensions import db
    from helpdesk.models import JourneyDelta, Stage, Ticket
    from helpdesk.tickets import service

    if db.session.scalar(select(JourneyDelta.id).limit(1)):
        return
    manager = accounts.user_by_email(MANAGER)
    newest = db.session.scalars(select(Ticket).order_by(Ticket.id.desc()).limit(count))
    stages = list(Stage)
    for ticket in newest:
        # The next stage, so a run over a database kept from an earlier one changes them too.
        service.set_stage(ticket, manager, stages[(stages.index(ticket.stage) + 1) % len(stages)])
    db.session.commit()


def some_filters() -> dict[str, str]:
    """An agent and a team with tickets, for the filtered requests."""
    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.models import Ticket

    agent, team = db.session.execute(
        select(Ticket.assignee_id, Ticket.team_id)
        .where(Ticket.assignee_id.is_not(None), Ticket.team_id.is_not(None))
        .limit(1)
    ).one()
    return {"agent": f"agent={agent}", "team": f"team={team}"}


def bench_size(count: int, args: argparse.Namespace) -> None:
    """Fill (or reuse) the database of one size and time the dashboard over it."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from helpdesk.extensions import db
    from helpdesk.models import Ticket
    from helpdesk.reports import stage_load as report
    from helpdesk.reports.survey_figures import survey_figures
    from helpdesk.tickets.queries import start_of_day

    url = database_url(args.database_url, count, args.tag)
    filled = args.reuse and filling.holds(url, count)
    if not filled:
        filling.fresh_database(url, args.database_url)
    with tempfile.TemporaryDirectory() as storage:
        app = filling.bench_app(url, storage)
        with app.app_context():
            print(f"{db.engine.dialect.name}, {count:,} tickets: {url}")
            upgrade()
            if not filled:
                with db.engine.connect() as connection:
                    filling.fill(connection, count)
            derive_report_figures()
            rebuild_rollups(app)
            client = manager_client(app)
            unfolded_changes(300)
            last = db.session.scalar(select(func.max(Ticket.created_at))).date()
            first = last - timedelta(days=args.days - 1)
            in_range = db.session.scalar(
                select(func.count()).where(Ticket.created_at >= start_of_day(first))
            )
            token = manager_token()
            filters = some_filters()
            db.session.remove()
            chosen = report.ReportRange(first, last, app.config["HELPDESK_TIMEZONE"])
        query = f"from={first}&to={last}"
        print(f"  range {first} to {last}: about {in_range:,} tickets")

        def part(work: Callable[[report.ReportRange], object]) -> Callable[[], object]:
            def run() -> object:
                with app.app_context():
                    return work(chosen)

            return run

        requests = {
            "part: stage table, 2 periods": part(report.compare),
            "part: arrivals per day": part(report.arrivals_per_day),
            "part: backlog by age": part(report.backlog_by_age),
            "part: journey flow": part(report.journey_flow),
            "part: CSV survey figures": part(survey_figures),
            "dashboard page": lambda: _ok(client.get(f"/reports/stages?{query}")),
            "page, channel=sms": lambda: _ok(client.get(f"/reports/stages?{query}&channel=sms")),
            "page, one agent": lambda: _ok(
                client.get(f"/reports/stages?{query}&{filters['agent']}")
            ),
            "page, one team": lambda: _ok(client.get(f"/reports/stages?{query}&{filters['team']}")),
            "page, source=proactive": lambda: _ok(
                client.get(f"/reports/stages?{query}&source=proactive")
            ),
            "CSV": lambda: _ok(client.get(f"/reports/stages.csv?{query}")),
            "API stage-load": lambda: _ok(
                client.get(
                    f"/api/v1/reports/stage-load?{query}",
                    headers={"Authorization": f"Bearer {token}"},
                )
            ),
        }
        print(f"  {'request':<30} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>8}   load average")
        for name, request in requests.items():
            median, p95, cpu = measure(request, args.repeat)
            load = " ".join(f"{value:.1f}" for value in os.getloadavg())
            print(f"  {name:<30} {median:>10.1f} {p95:>8.1f} {cpu:>8.1f}   {load}")
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="ticket counts, commas")
    parser.add_argument("--database-url", help="a PostgreSQL server; default a SQLite file")
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="keep a database already filled")
    parser.add_argument("--tag", default="", help="a word added to the database's name")
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    for count in (int(size) for size in args.sizes.split(",")):
        bench_size(count, args)


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
