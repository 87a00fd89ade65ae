"""Automatic assignment under load: two web processes, two workers, 20 agents on PostgreSQL.

Usage: python bench/assignment.py [--tickets N] [--rate R] [--capacity C] [--handle S]
                                  [--database-url URL]

The scenario, end to end through the real processes:

- A fresh PostgreSQL database of its own (dropped afterwards) holds 20 agents in two
  round-robin teams of 10, each agent with capacity C (default 5) new and open tickets.
- Two web processes (gunicorn, one process of 4 threads each, on free ports on 127.0.0.1)
  and two ``helpdesk worker`` processes run the app as in production.
- N customers (default 10,000) each text a new request through the signed Twilio webhook,
  R per second (default 10) spread over both web processes; the workers take them in.
- Two routing rules send each new ticket to a team by a word of its text (half of them each);
  intake offers it to the team's round robin at once.
- Agents handle what they are given: each assigned ticket is solved (``PATCH`` status) S
  seconds (default 1.0) after it was assigned, which frees the agent's slot; tickets that found
  every agent full wait in their team and the workers' job hands them out, oldest first. The
  agents' browsers are stood in for by keeping their "last seen" fresh.

Printed: assignment latency p50 / p95 (from the ticket entering its team to the system's
assignee event; waiting for a free agent included), fairness (max - min tickets per agent
within each round-robin team), the most tickets any agent held at once (sampled in one
statement every 0.2 s; must not pass C), and double assignments (tickets given out by the
system more than once; must be 0). On 2 cores the API's PATCH (one per ticket here, the
agents' solve) is what limits the rate: past it, the agents cannot solve as fast as tickets
come, so tickets queue for a free agent and the latency is mostly that wait.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import scratch_database
from bench.layout import (
    NUMBER,
    SMS_PATH,
    sms_form,
    sms_signature,
    start_web,
    start_worker,
    stop,
    twilio_settings,
)

AGENTS = 20
# What customers text, by team: half the requests go to each (the routing rules' words).
TEXTS = (("Where is my parcel?", "My parcel is late"), ("My grinder is noisy", "Refund please"))
TEAM_WORDS = ("parcel", "grinder, refund")
TEAMS = len(TEAM_WORDS)
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
# Threads of the agents, each taking the tickets of one share.
SHARES = 3
# Far beyond what a run takes; only a stuck ticket comes near it.
PATIENCE = 120.0


def prepare(url: str, storage: str, capacity: int) -> str:
    """Schema, the SMS number, 20 present agents in two round-robin teams with a routing rule
    each; an API token."""
    from flask_migrate import upgrade

    from helpdesk import create_app, teams
    from helpdesk.extensions import db
    from helpdesk.models import ApiToken, Role, User, utcnow
    from helpdesk.tickets import routing_rules, sms

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
    with app.app_context():
        upgrade()
        sms.add_number(number=NUMBER, stage="use")
        agents = []
        for n in range(AGENTS):
            agent = User(
                email=f"agent{n}@bench.test",
                name=f"Agent {n}",
                role=Role.AGENT,
                available=True,
                last_seen_at=utcnow(),
            )
            agent.set_password("bench password")
            agents.append(agent)
        db.session.add_all(agents)
        per_team = AGENTS // TEAMS
        for t, words in enumerate(TEAM_WORDS):
            team = teams.create_team(f"Team {t}", assignment="round_robin", capacity=capacity)
            teams.set_members(team, agents[t * per_team : (t + 1) * per_team])
            routing_rules.add_rule(f"To team {t}", {"subject_words": words}, team=team)
        secret = "bench-token"
        db.session.add(ApiToken(name="bench", user=agents[0], token_hash=ApiToken.hash(secret)))
        db.session.commit()
        db.engine.dispose()
    return secret


def signed_form(n: int) -> tuple[dict[str, str], str]:
    form = sms_form(f"SM{n:032d}", f"+1555{n:07d}", random.choice(TEXTS[n % len(TEXTS)]))
    return form, sms_signature(form)


class Run:
    """The bench's threads: customers texting, agents solving, a monitor."""

    def __init__(self, url: str, ports: list[int], token: str, args: argparse.Namespace) -> None:
        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        self.ports, self.args = ports, args
        self.headers = {"Authorization": f"Bearer {token}"}
        self.sent_all = threading.Event()
        self.done = threading.Event()
        self.most_held = 0
        self.errors: Counter[str] = Counter()
        self.team_ids: list[int] = []

    def api(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % len(self.ports)]}/api/v1"

    def customers(self) -> None:
        session, started = requests.Session(), time.monotonic()
        for n in range(self.args.tickets):
            time.sleep(max(0.0, started + n / self.args.rate - time.monotonic()))
            form, signature = signed_form(n)
            port = self.ports[n % len(self.ports)]
            response = session.post(
                f"http://127.0.0.1:{port}{SMS_PATH}",
                data=form,
                headers={"X-Twilio-Signature": signature},
            )
            if response.status_code != 200:
                self.errors[f"webhook {response.status_code}"] += 1
        self.sent_all.set()

    def agents(self, share: int) -> None:
        """Solve each assigned ticket ``--handle`` seconds after it was assigned."""
        session = requests.Session()
        while not self.done.is_set():
            with self.engine.connect() as conn:
                due = conn.execute(
                    text(
                        "SELECT t.id FROM tickets t WHERE t.status IN ('new', 'open')"
                        " AND t.assignee_id IS NOT NULL AND t.updated_at"
                        " < now() - make_interval(secs => :handle) AND t.id % :n = :share"
                        " ORDER BY t.updated_at LIMIT 100"
                    ),
                    {"handle": self.args.handle, "n": SHARES, "share": share},
                ).scalars()
            due = list(due)
            for ticket_id in due:
                self.patch(session, ticket_id, {"status": "solved"})
            if not due:
                time.sleep(0.05)

    def patch(self, session: requests.Session, ticket_id: int, body: dict) -> None:
        response = session.patch(
            f"{self.api(ticket_id)}/tickets/{ticket_id}", json=body, headers=self.headers
        )
        if response.status_code != 200:
            self.errors[f"PATCH {response.status_code}"] += 1

    def monitor(self) -> None:
        """Sample the most tickets any agent holds; keep the agents "seen"; notice the end."""
        turns = 0
        while not self.done.is_set():
            turns += 1
            with self.engine.begin() as conn:
                held = conn.execute(
                    text(
                        "SELECT coalesce(max(c), 0) FROM (SELECT count(*) AS c FROM tickets"
                        " WHERE status IN ('new', 'open') AND assignee_id IS NOT NULL"
                        " GROUP BY assignee_id) AS loads"
                    )
                ).scalar_one()
                if turns % 50 == 0:  # every 10 s, as their pages' heartbeats would
                    conn.execute(text("UPDATE users SET last_seen_at = now()"))
                solved = conn.execute(
                    text("SELECT count(*) FROM tickets WHERE status = 'solved'")
                ).scalar_one()
            self.most_held = max(self.most_held, held)
            if self.sent_all.is_set() and solved >= self.args.tickets:
                self.done.set()
            time.sleep(0.2)

    def go(self) -> float:
        with self.engine.connect() as conn:
            self.team_ids = list(conn.execute(text("SELECT id FROM teams ORDER BY id")).scalars())
        threads = [
            threading.Thread(target=self.customers, daemon=True),
            threading.Thread(target=self.monitor, daemon=True),
        ] + [
            threading.Thread(target=self.agents, args=(share,), daemon=True)
            for share in range(SHARES)
        ]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        if not self.done.wait(self.args.tickets / self.args.rate + PATIENCE):
            print("gave up waiting: not every ticket was solved in time")
            self.done.set()
        for thread in threads:
            thread.join(timeout=30)
        return time.monotonic() - started


def figures(run: Run) -> None:
    with run.engine.connect() as conn:
        latencies = conn.execute(
            text(
                "SELECT extract(epoch FROM a.created_at - t.created_at) FROM ticket_events a"
                " JOIN ticket_events t ON t.ticket_id = a.ticket_id AND t.kind = 'team'"
                " WHERE a.kind = 'assignee' AND a.actor_id IS NULL AND a.to_value IS NOT NULL"
            )
        ).scalars()
        latencies = sorted(float(value) for value in latencies)
        per_ticket = Counter(
            conn.execute(
                text(
                    "SELECT ticket_id FROM ticket_events WHERE kind = 'assignee'"
                    " AND actor_id IS NULL AND to_value IS NOT NULL"
                )
            ).scalars()
        )
        per_agent = conn.execute(
            text(
                "SELECT m.team_id, u.email, count(t.id) FROM team_members m"
                " JOIN users u ON u.id = m.user_id"
                " LEFT JOIN tickets t ON t.assignee_id = u.id AND t.team_id = m.team_id"
                " GROUP BY m.team_id, u.email"
            )
        ).all()
    print(f"  assigned                {len(latencies):>8,} of {run.args.tickets:,} tickets")
    if latencies:
        p50 = statistics.median(latencies)
        p95 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]
        print(f"  latency p50 / p95       {p50 * 1000:8.0f} / {p95 * 1000:.0f} ms")
    for team_id in run.team_ids:
        counts = [count for team, _, count in per_agent if team == team_id]
        print(
            f"  fairness, team {team_id}        {max(counts) - min(counts):>8}  "
            f"(max - min tickets per agent; {min(counts)} to {max(counts)})"
        )
    print(f"  most held at once       {run.most_held:>8}  (capacity {run.args.capacity})")
    print(f"  double assignments      {sum(1 for c in per_ticket.values() if c > 1):>8}")
    if run.errors:
        print(f"  failed requests         {dict(run.errors)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=10.0, help="new tickets per second")
    parser.add_argument("--capacity", type=int, default=5, help="tickets per agent")
    parser.add_argument("--handle", type=float, default=1.0, help="seconds to solve one")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    args = parser.parse_args()
    if not args.database_url.startswith("postgres"):
        parser.error("assignment across processes is measured on PostgreSQL")
    with scratch_database(args.database_url) as url, tempfile.TemporaryDirectory() as storage:
        token = prepare(url, storage, args.capacity)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "SECRET_KEY": "bench",
            "HELPDESK_STORAGE_DIR": storage,
            **twilio_settings(),
            # Twenty agents share one token here; the API's per-token limit would throttle them.
            "HELPDESK_API_RATE_LIMIT": "1000000 per minute",
        }
        processes: list[subprocess.Popen] = []
        with (Path(storage) / "workers.log").open("a") as log:
            try:
                ports = []
                for _ in range(2):
                    server, port = start_web("helpdesk:create_app()", env)
                    processes.append(server)
                    ports.append(port)
                for _ in range(2):
                    processes.append(start_worker(env, log, interval=0.5))
                run = Run(url, ports, token, args)
                elapsed = run.go()
            finally:
                for process in processes:
                    stop(process)
        print(
            f"{args.tickets:,} tickets at {args.rate:.0f}/s through 2 web processes, 2 workers, "
            f"{AGENTS} agents in {TEAMS} round-robin teams (capacity {args.capacity}, solved "
            f"{args.handle:.1f} s after assignment); {elapsed:.0f} s; postgresql"
        )
        figures(run)
        run.engine.dispose()


if __name__ == "__main__":
    main()
