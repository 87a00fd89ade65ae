"""Web chat under load: visitors and an agent talking through two web processes.

Usage: python bench/chat.py [--visitors 200] [--messages 5] [--pause SECONDS]
                            [--workers 1] [--database-url URL] [--no-redis]

Starts two gunicorn processes (gthread workers) on one fresh database (PostgreSQL by default,
a database of its own, dropped afterwards) with Redis fan-out unless --no-redis. Each visitor
starts a conversation on one process and the agent follows that ticket's live stream on the
*other* one, so every message crosses processes. A visitor sends a message, the agent answers
it as soon as it shows up, the visitor sends the next when the answer arrives (after a pause
of about --pause seconds, as people read and type; 0 by default). Without pauses the load is
a closed loop: latency is the number of visitors over the rate the servers reach. Prints
messages per second, p50 / p95 latencies: visitor -> agent (post sent until the agent's stream
shows it; also apart for a chat's first message, which the agent finds through the queue's
stream, and the ones after it) and agent -> visitor, the CPU the visitors' web process spent
per visitor message and the agent's per reply (each with its streams' reads), the client's
CPU per message, and the load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import time
from dataclasses import dataclass, field

import aiohttp
from ingest import scratch_database
from layout import cpu_seconds, start_web

ORIGIN = "http://bench.example"
AGENT_EMAIL = "agent@bench.example"
PASSWORD = "bench-password-123"
CSRF = r'name="csrf_token"[^>]*value="([^"]+)"'


def prepare(database_url: str) -> str:
    """Schema, an available agent and a chat site; returns the site key."""
    os.environ["DATABASE_URL"] = database_url
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.chat import sites
    from helpdesk.extensions import db
    from helpdesk.models import Role, User, utcnow

    app = create_app()
    with app.app_context():
        upgrade()
        agent = User(email=AGENT_EMAIL, name="Bench Agent", role=Role.AGENT, available=True)
        agent.last_seen_at = utcnow()
        agent.set_password(PASSWORD)
        db.session.add(agent)
        key = sites.add_site("Bench shop", [ORIGIN]).address
        db.session.commit()
        db.engine.dispose()
    return key


def start_servers(
    env: dict[str, str], workers: int, threads: int
) -> tuple[list[subprocess.Popen], list[str]]:
    options = ("--timeout", "120", "--graceful-timeout", "3", "--keep-alive", "30")
    procs, urls = [], []
    for _ in range(2):
        server, port = start_web("wsgi:app", env, workers=workers, threads=threads, options=options)
        procs.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    return procs, urls


async def sse(response: aiohttp.ClientResponse):
    """Parsed server-sent events (event name, data) from a streaming response."""
    kind, data = "message", []
    async for raw in response.content:
        line = raw.decode().rstrip("\r\n")
        if not line:
            if data:
                yield kind, json.loads("\n".join(data))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


@dataclass
class Results:
    # A chat's first message reaches the agent later: the agent learns of the new ticket from
    # the queue's stream and only then opens the ticket's own (as a browser does).
    to_agent_first: list[float] = field(default_factory=list)
    to_agent_later: list[float] = field(default_factory=list)
    to_visitor: list[float] = field(default_factory=list)
    errors: int = 0

    @property
    def to_agent(self) -> list[float]:
        return self.to_agent_first + self.to_agent_later


class Agent:
    """One logged-in agent session answering every chat on the process it is pointed at."""

    def __init__(self, session: aiohttp.ClientSession, url: str, results: Results) -> None:
        self.session, self.url, self.results = session, url, results
        self.csrf = ""
        self.tasks: list[asyncio.Task] = []

    async def log_in(self) -> None:
        page = await (await self.session.get(f"{self.url}/login")).text()
        token = re.search(CSRF, page).group(1)
        form = {"email": AGENT_EMAIL, "password": PASSWORD, "csrf_token": token}
        answer = await self.session.post(f"{self.url}/login", data=form, allow_redirects=False)
        if answer.status != 302:
            raise SystemExit(f"the bench agent could not log in: HTTP {answer.status}")
        page = await (await self.session.get(f"{self.url}/tickets")).text()
        self.csrf = re.search(CSRF, page).group(1)

    def follow(self, ticket_id: int, after: int) -> None:
        self.tasks.append(asyncio.create_task(self._answer(ticket_id, after)))

    async def _answer(self, ticket_id: int, after: int) -> None:
        url = f"{self.url}/tickets/{ticket_id}/live?after={after}"
        async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=None)) as stream:
            async for kind, event in sse(stream):
                if kind != "message" or event["from"] != "visitor":
                    continue
                _, number, sent_at = event["text"].split(" ")
                first = number == "m0"
                latency = time.time() - float(sent_at)
                (self.results.to_agent_first if first else self.results.to_agent_later).append(
                    latency
                )
                form = {"text": f"answer {time.time()}", "csrf_token": self.csrf, "reply": "1"}
                # As the chat page sends it: the reply shows up on the live stream, no reload.
                reply = await self.session.post(
                    f"{self.url}/tickets/{ticket_id}/messages",
                    data=form,
                    headers={"Accept": "application/json"},
                )
                if reply.status != 201:
                    self.results.errors += 1


async def post_with_retry(
    session: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str]
) -> int:
    """POST as the widget does: a dropped connection is retried with the same client id."""
    for _ in range(5):
        try:
            async with session.post(url, data=body, headers=headers) as response:
                return response.status
        except aiohttp.ClientConnectionError:
            await asyncio.sleep(0.2)
    return 0


async def visitor(
    n: int,
    session: aiohttp.ClientSession,
    url: str,
    key: str,
    count: int,
    pause: float,
    results: Results,
) -> None:
    rng = random.Random(n)
    headers = {"Origin": ORIGIN, "Content-Type": "text/plain"}
    body = json.dumps({"name": f"Visitor {n}", "email": f"v{n}@bench.example"})
    start = await session.post(
        f"{url}/chat/api/sites/{key}/conversations", data=body, headers=headers
    )
    token = (await start.json())["token"]
    stream_url = f"{url}/chat/api/stream?token={token}"
    async with session.get(
        stream_url, headers={"Origin": ORIGIN}, timeout=aiohttp.ClientTimeout(total=None)
    ) as stream:
        events = sse(stream)
        for m in range(count):
            await asyncio.sleep(pause * rng.uniform(0.5, 1.5))
            message = {"token": token, "client_id": f"{n}-{m}", "text": f"v{n} m{m} {time.time()}"}
            posted = await post_with_retry(
                session, f"{url}/chat/api/messages", json.dumps(message), headers
            )
            if posted not in (200, 201):
                results.errors += 1
                return
            async for kind, event in events:
                if kind == "message" and event["from"] == "agent":
                    sent_at = float(event["text"].split(" ", 1)[1])
                    results.to_visitor.append(time.time() - sent_at)
                    break


async def new_chats(session: aiohttp.ClientSession, url: str, agent: Agent, expected: int) -> None:
    """The agent's queue: follow each new chat as it arrives."""
    seen = 0
    async with session.get(
        f"{url}/tickets/live", timeout=aiohttp.ClientTimeout(total=None)
    ) as stream:
        async for kind, event in sse(stream):
            if kind == "ticket":
                # Replay from the start of the ticket: its first message is already there.
                agent.follow(event["ticket_id"], 0)
                seen += 1
                if seen == expected:
                    return


async def run(
    urls: list[str], key: str, visitors: int, count: int, pause: float
) -> tuple[Results, float]:
    results = Results()
    connector = aiohttp.TCPConnector(limit=0)
    async with (
        aiohttp.ClientSession(connector=connector) as visitors_session,
        # unsafe: keep the login cookie although the host is an IP address.
        aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=0), cookie_jar=aiohttp.CookieJar(unsafe=True)
        ) as agent_session,
    ):
        # Visitors talk to process 0; the agent watches process 1: every message crosses.
        agent = Agent(agent_session, urls[1], results)
        await agent.log_in()
        queue = asyncio.create_task(new_chats(agent_session, urls[1], agent, visitors))
        await asyncio.sleep(0.5)
        began = time.monotonic()
        await asyncio.gather(
            *(
                visitor(n, visitors_session, urls[0], key, count, pause, results)
                for n in range(visitors)
            )
        )
        elapsed = time.monotonic() - began
        queue.cancel()
        for task in agent.tasks:
            task.cancel()
    return results, elapsed


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=200)
    parser.add_argument("--messages", type=int, default=5, help="per visitor")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds before each message")
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--no-redis", action="store_true", help="fan out by polling the database")
    parser.add_argument("--workers", type=int, default=1, help="gunicorn workers per server")
    parser.add_argument("--threads", type=int, default=0, help="per worker (default: enough)")
    args = parser.parse_args()

    with scratch_database(args.database_url) as database_url:
        key = prepare(database_url)
        unlimited = "1000000 per minute"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_hex(16),
            "HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP": unlimited,
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR": unlimited,
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_IP": unlimited,
        }
        env.pop("REDIS_URL", None)
        if not args.no_redis:
            env["REDIS_URL"] = args.redis_url
        # One thread per open stream (visitors or agent tickets) plus room for posts.
        threads = args.threads or args.visitors // args.workers + 50
        procs, urls = start_servers(env, args.workers, threads)
        load_before = os.getloadavg()
        try:
            server_cpu = [cpu_seconds(proc) for proc in procs]
            client_cpu = time.process_time()
            results, elapsed = asyncio.run(run(urls, key, args.visitors, args.messages, args.pause))
            client_cpu = time.process_time() - client_cpu
            server_cpu = [
                cpu_seconds(proc) - before for proc, before in zip(procs, server_cpu, strict=True)
            ]
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=30)

    delivered = len(results.to_agent) + len(results.to_visitor)
    fan_out = "database polling" if args.no_redis else "Redis"
    print(
        f"{args.visitors} visitors x {args.messages} messages (pause {args.pause:g} s), "
        f"2 web servers x {args.workers} worker(s), {fan_out}"
    )
    print(
        f"delivered {delivered} messages in {elapsed:.1f} s: {delivered / elapsed:.0f} messages/s"
    )
    for label, values in (
        ("visitor -> agent", results.to_agent),
        ("  a chat's first message", results.to_agent_first),
        ("  the messages after it", results.to_agent_later),
        ("agent -> visitor", results.to_visitor),
    ):
        if values:
            p50, p95 = percentile(values, 0.50) * 1000, percentile(values, 0.95) * 1000
            print(f"{label}: p50 {p50:.0f} ms, p95 {p95:.0f} ms ({len(values)} messages)")
    # Each process's CPU over the messages written on it, the reads its streams made of the
    # other side's messages included: what one more message costs that process.
    visitor_side, agent_side = server_cpu
    posted, answered = len(results.to_agent), len(results.to_visitor)
    print(
        f"web CPU per message: {visitor_side / max(posted, 1) * 1000:.1f} ms per visitor "
        f"message (visitors' process), {agent_side / max(answered, 1) * 1000:.1f} ms per agent "
        f"reply (agent's process); this client {client_cpu / delivered * 1000:.1f} ms"
    )
    print(f"load average before {_loads(load_before)}, after {_loads(os.getloadavg())}")
    if results.errors:
        print(f"errors: {results.errors}")


def _loads(loads: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.1f}" for value in loads)


if __name__ == "__main__":
    main()
