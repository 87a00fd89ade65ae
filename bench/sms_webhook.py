"""Requests per second of the signed inbound SMS webhook, next to a bare Flask endpoint.

Usage: python bench/sms_webhook.py [--seconds S] [--workers W] [--threads T] [--clients C]
                                   [--database-url URL] [--no-intake]

Both run under gunicorn with the same settings (W gthread workers of T threads on
127.0.0.1; clients are C processes opening a connection per request). Twilio posts each text
as it arrives, whatever became of earlier ones, so many are in flight at once: 48 clients
and 64 threads a process by default (the README's production advice is 200). With 6 clients
at most 6 texts were ever in flight, and on PostgreSQL each waited out its commit's flush to
disk with too few others to share it. The bare
endpoint reads the same form and answers the same empty TwiML; the real one checks the
Twilio signature and the form, and stores the payload in the inbox once per MessageSid with
a commit. Requests are signed before the clock starts; new customers and follow-ups, some
with an MMS item. Target: the real webhook at 50 % or more of the bare endpoint. Beside the
rates it prints the CPU each server's processes and the clients spent per request (the figure
that carries over to a busy machine) and the load average. Then, unless --no-intake, the
worker's intake turns the stored texts into tickets and its rate is printed too. Without
--database-url it uses a fresh SQLite file; a PostgreSQL URL gets a fresh database of its
own on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response, request
from sqlalchemy import create_engine, func, select
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import scratch_database
from bench.layout import (
    ACCOUNT_SID,
    NUMBER,
    SMS_PATH,
    cpu_seconds,
    sms_form,
    sms_signature,
    start_web,
    stop,
    twilio_settings,
)
from channels.sms import EMPTY_TWIML
from helpdesk.models import InboxItem

ROUNDS = 5
BARE = "bare Flask endpoint"
WEBHOOK = "signed SMS webhook"


def bare_app() -> Flask:
    """The baseline: read the form, answer empty TwiML, nothing else."""
    app = Flask(__name__)

    @app.post(SMS_PATH)
    def webhook() -> Response:
        request.form.get("MessageSid")
        return Response(EMPTY_TWIML, mimetype="text/xml")

    return app


def signed_requests(count: int, port: int, seed: int) -> list[bytes]:
    """Raw HTTP requests with Twilio's signature, each with a new MessageSid."""
    rng = random.Random(seed)
    raw = []
    for n in range(count):
        form = sms_form(
            f"SM{seed:08d}{n:024d}",
            f"+1555{rng.randrange(count // 3 + 1):07d}",
            rng.choice(["Where is my parcel?", "ORDER 1234 is late", "Thanks!"]),
        )
        if rng.random() < 0.1:
            form |= {
                "NumMedia": "1",
                "MediaUrl0": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
                f"/Messages/MM{n:032d}/Media/ME{n:032d}",
                "MediaContentType0": "image/jpeg",
            }
        body = urlencode(form).encode()
        signature = sms_signature(form)
        head = (
            f"POST {SMS_PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature}\r\n"
            "Connection: close\r\n\r\n"
        )
        raw.append(head.encode() + body)
    return raw


def _client(port: int, requests: list[bytes], deadline: float, results) -> None:
    cpu_started = time.process_time()
    done = failed = 0
    for payload in requests:
        if time.monotonic() >= deadline:
            break
        with socket.create_connection(("127.0.0.1", port)) as conn:
            conn.sendall(payload)
            answer = b""
            while chunk := conn.recv(65536):
                answer += chunk
        if answer.startswith(b"HTTP/1.1 200") and answer.endswith(EMPTY_TWIML.encode()):
            done += 1
        else:
            failed += 1
    results.put((done, failed, time.process_time() - cpu_started))


@dataclass
class Turns:
    """What one server did over the measured turns."""

    rates: list[float] = field(default_factory=list)
    answered: int = 0
    failed: int = 0
    server_cpu: float = 0.0
    client_cpu: float = 0.0
    database_cpu: float = 0.0

    def add(
        self,
        server: subprocess.Popen,
        port: int,
        clients: int,
        seconds: float,
        seed: int,
        database: str | None,
    ):
        """Measure one turn and add its figures."""
        cpu_before = cpu_seconds(server)
        database_before = postgresql_cpu(database)
        rate, answered, failed, client_cpu = measure(port, clients, seconds, seed)
        self.server_cpu += cpu_seconds(server) - cpu_before
        self.database_cpu += sum(
            spent - database_before.get(pid, spent)
            for pid, spent in postgresql_cpu(database).items()
        )
        self.rates.append(rate)
        self.answered += answered
        self.failed += failed
        self.client_cpu += client_cpu

    def cpu_ms(self, seconds: float) -> float:
        """Milliseconds of CPU per answered request."""
        return 1000 * seconds / max(self.answered, 1)


def postgresql_cpu(database: str | None) -> dict[int, float]:
    """CPU seconds used so far by each PostgreSQL backend serving ``database`` on this machine
    (its processes name the database they serve); none for SQLite."""
    if database is None:
        return {}
    spent = {}
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit():
                continue
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            # "postgres: 15/main: USER DATABASE HOST(PORT) STATE"
            if not title.startswith("postgres: ") or f" {database} " not in title:
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        spent[int(proc.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return spent


def measure(port: int, clients: int, seconds: float, seed: int) -> tuple[float, int, int, float]:
    """Requests per second over ``seconds`` from ``clients`` processes; the requests answered,
    the failures, and the clients' CPU seconds."""
    per_client = int(seconds * 1500)  # far more than a client can send in time
    batches = [signed_requests(per_client, port, seed * 100 + c) for c in range(clients)]
    results: multiprocessing.Queue = multiprocessing.Queue()
    started = time.monotonic()
    deadline = started + seconds
    procs = [
        multiprocessing.Process(target=_client, args=(port, batch, deadline, results))
        for batch in batches
    ]
    for proc in procs:
        proc.start()
    totals = [results.get() for _ in procs]
    elapsed = time.monotonic() - started
    for proc in procs:
        proc.join()
    answered = sum(done for done, _, _ in totals)
    failed = sum(failed for _, failed, _ in totals)
    return answered / elapsed, answered, failed, sum(cpu for _, _, cpu in totals)


def migrate(url: str, storage: str) -> None:
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.tickets import sms

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
    with app.app_context():
        upgrade()
        sms.add_number(number=NUMBER, stage="use", keywords={"ORDER": "purchase"})
        db.session.commit()
        db.engine.dispose()


def run(
    seconds: float,
    workers: int,
    threads: int,
    clients: int,
    database_url: str | None,
    intake: bool = True,
) -> None:
    with scratch_database(database_url) as url, tempfile.TemporaryDirectory() as storage:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "HELPDESK_STORAGE_DIR": storage,
            **twilio_settings(),
        }
        migrate(url, storage)
        database_name = make_url(url).database if url.startswith("postgresql") else None
        servers = {
            name: start_web(spec, env, workers=workers, threads=threads)
            for name, spec in (
                (BARE, "bench.sms_webhook:bare_app()"),
                (WEBHOOK, "wsgi:app"),
            )
        }
        loads = [os.getloadavg()]
        try:
            turns = {name: Turns() for name in servers}
            # Warm up (imports, connections); what the webhook answered then is in the inbox too.
            warm_up = {
                name: measure(port, clients, 1.0, seed=1)[1] for name, (_, port) in servers.items()
            }
            # Short turns in alternation, so a change in the machine's load hits both alike.
            for turn in range(ROUNDS):
                for name, (server, port) in servers.items():
                    turns[name].add(
                        server, port, clients, seconds / ROUNDS, 10 + turn, database_name
                    )
                loads.append(os.getloadavg())
        finally:
            for server, _ in servers.values():
                stop(server)
        stored = count_stored(url)
        summary = take_in(url, storage) if intake else None
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    print(
        f"gunicorn: {workers} workers x {threads} threads (gthread); {clients} clients; "
        f"{seconds:.0f} s each in {ROUNDS} alternating turns (median shown); {dialect}"
    )
    for name, figures in turns.items():
        print(
            f"  {name:<20} {statistics.median(figures.rates):8.0f} requests/s  "
            f"({figures.failed} failed); CPU per request: server "
            f"{figures.cpu_ms(figures.server_cpu):.2f} ms, clients "
            f"{figures.cpu_ms(figures.client_cpu):.2f} ms"
            + (
                f", PostgreSQL {figures.cpu_ms(figures.database_cpu):.2f} ms"
                if database_name
                else ""
            )
        )
    ratio = statistics.median(turns[WEBHOOK].rates) / statistics.median(turns[BARE].rates)
    print(f"  ratio                {ratio:8.0%}  (target: at least 50 %)")
    answered = turns[WEBHOOK].answered + warm_up[WEBHOOK]
    print(f"  texts answered 200: {answered}, in the inbox: {stored} (lost: {answered - stored})")
    print("  load average (1 min) at each turn: " + ", ".join(f"{one:.1f}" for one, _, _ in loads))
    if summary is not None:
        count, elapsed, taken = summary
        print(
            f"worker intake afterwards (one process): {count / elapsed:.0f} texts/s "
            f"into tickets; {taken}"
        )


def count_stored(url: str) -> int:
    """Texts in the inbox: every one answered 200 must be there."""
    engine = create_engine(url)
    with engine.connect() as connection:
        count = connection.scalar(select(func.count()).select_from(InboxItem.__table__))
    engine.dispose()
    return count


def take_in(url: str, storage: str) -> tuple[int, float, object]:
    """Run the worker's intake over everything the webhook stored, as `helpdesk worker` does."""
    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.inbox import process_due

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
    with app.app_context():
        started = time.perf_counter()
        summary = process_due()
        elapsed = time.perf_counter() - started
        db.engine.dispose()
    return summary.stored + summary.duplicates + summary.failed, elapsed, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--threads", type=int, default=64)
    parser.add_argument("--clients", type=int, default=48)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--no-intake", action="store_true", help="skip the worker's intake after the turns"
    )
    args = parser.parse_args()
    run(
        args.seconds,
        args.workers,
        args.threads,
        args.clients,
        args.database_url,
        intake=not args.no_intake,
    )


if __name__ == "__main__":
    main()
