"""Load on the production layout: agents working the queue while texts pour in.

Usage: python bench/load.py [--seconds 60] [--agents 50] [--rate 200] [--think 1.0]
                            [--tickets 2000] [--threads 200] [--database-url URL]

The layout is the README's: gunicorn with gthread workers (``--threads`` each) serving
``wsgi:app``, and ``helpdesk worker`` processes at their default poll interval, on a fresh
database. Without --database-url that is a SQLite file with one web process and one worker
(the embedded install); a PostgreSQL URL gets a database of its own on that server (dropped
afterwards), two web processes, two workers and Redis (--redis-url). Replies go out to a
local Twilio stand-in (texts) and an SMTP sink (mail); nothing leaves 127.0.0.1.

Before the clock starts: about --tickets tickets come in through the ticket service (email,
SMS and chat, a third of the messages follow-ups), and each agent logs in through the login
form. Then, for --seconds:

- each agent, in a browser-like session with its CSRF token, opens a queue page (one of a few
  filters and sorts), opens one of the tickets listed, sends the presence beat the page sends,
  and posts a reply or an internal note carrying the newest message id the page showed; when
  the answer is 409 (a newer message came meanwhile) it sends again confirmed, as an agent
  would; it follows the redirect back to the ticket page. It pauses about --think seconds
  (0.5 to 1.5 times) before each step, as people read and type;
- signed Twilio webhooks arrive on a fixed schedule, --rate a second (an open loop: a slow
  answer never delays the next text; a text sent more than 50 ms after its time counts as
  late), from a pool of numbers so most customers text more than once.

Printed: requests per second overall and per kind, p50 / p95 per kind, errors by kind and
status (target 0), "database is locked" in the server logs and 5xx bodies (target 0), the
texts answered, taken in and lost (target 0) with the time from the last text until the
inbox was empty and the intake lag per text (received -> message), the replies sent, the
client's own CPU, and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench.ingest import messages, scratch_database  # noqa: E402
from bench.layout import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    NUMBER,
    SMS_PATH,
    cpu_seconds,
    sms_form,
    sms_signature,
    start_web,
    start_worker,
    stop,
    twilio_settings,
)

PASSWORD = "load-bench-password"
LOCKED = "database is locked"
LATE = 0.05
NOTE_SHARE = 0.4
# The queues agents look at: the open work, the newest, the longest waiting, one channel.
QUEUES = (
    "/tickets?status=new,open,pending",
    "/tickets?status=new",
    "/tickets?status=open&sort=waiting",
    "/tickets?status=new,open,pending&channel=sms",
)
TEXTS = (
    "Where is my parcel?",
    "ORDER 1234 is late",
    "Can I change the delivery address?",
    "Thanks, that helped",
    "The app says my card was declined",
)
TICKET_LINK = re.compile(r'href="/tickets/(\d+)"')


def hidden(page: str, name: str) -> str:
    """The value of a form field the page carries (the CSRF token, the newest message seen)."""
    found = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
    return found.group(1) if found else ""


@dataclass
class Settings:
    seconds: float = 60.0
    agents: int = 50
    rate: float = 200.0
    think: float = 1.0
    tickets: int = 2000
    threads: int = 200
    database_url: str | None = None
    redis_url: str = "redis://127.0.0.1:6379/0"

    @property
    def on_postgresql(self) -> bool:
        return bool(self.database_url and self.database_url.startswith("postgres"))

    @property
    def processes(self) -> int:
        """Web processes and workers alike: one on SQLite, two on PostgreSQL."""
        return 2 if self.on_postgresql else 1


@dataclass
class Tally:
    """What the clients saw: timings per kind of request, and everything that went wrong."""

    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    locked: int = 0
    conflicts: int = 0
    late: int = 0
    most_late: float = 0.0
    texts_answered: set[str] = field(default_factory=set)  # MessageSids answered 200
    elapsed: float = 0.0
    client_cpu: float = 0.0
    loads: list[tuple[float, float, float]] = field(default_factory=list)  # before, after

    def start(self) -> None:
        self.loads.append(os.getloadavg())
        self.elapsed, self.client_cpu = -time.monotonic(), -time.process_time()

    def stop(self) -> None:
        self.elapsed += time.monotonic()
        self.client_cpu += time.process_time()
        self.loads.append(os.getloadavg())

    async def request(
        self, session: aiohttp.ClientSession, kind: str, method: str, url: str, expect: int,
        **options,
    ) -> tuple[int, str, str]:  # fmt: skip
        """Send one request and time it; (status, body, Location)."""
        started = time.monotonic()
        try:
            async with session.request(method, url, allow_redirects=False, **options) as answer:
                body = await answer.text()
                status, location = answer.status, answer.headers.get("Location", "")
        except (aiohttp.ClientError, TimeoutError) as failed:
            self.errors[f"{kind}: {type(failed).__name__}"] += 1
            return 0, "", ""
        self.timings[kind].append(time.monotonic() - started)
        if status != expect and not (status == 409 and kind in ("reply", "note")):
            self.errors[f"{kind}: HTTP {status}"] += 1
            if status >= 500 and LOCKED in body:
                self.locked += 1
        return status, body, location


class Agent:
    """One agent in a browser: queue, ticket, presence beat, reply or note, and back."""

    def __init__(self, n: int, base: str, tally: Tally, think: float) -> None:
        self.n, self.base, self.tally, self.think = n, base, tally, think
        self.rng = random.Random(n)
        # Closed before gunicorn's 2 s keep-alive ends, so no request meets a closing socket.
        connector = aiohttp.TCPConnector(limit=4, keepalive_timeout=1.0)
        # unsafe: keep the session cookie although the host is an IP address.
        self.session = aiohttp.ClientSession(
            base, connector=connector, cookie_jar=aiohttp.CookieJar(unsafe=True),
            timeout=aiohttp.ClientTimeout(total=30),
        )  # fmt: skip

    async def log_in(self) -> None:
        """Through the login form, then to the queue it lands on."""
        async with self.session.get("/login") as page:
            token = hidden(await page.text(), "csrf_token")
        form = {"email": f"agent{self.n}@load.test", "password": PASSWORD, "csrf_token": token}
        async with self.session.post("/login", data=form) as landed:
            if landed.status != 200 or not landed.url.path.startswith("/tickets"):
                raise SystemExit(f"agent {self.n} could not log in: HTTP {landed.status}")

    async def work(self, until: float) -> None:
        while time.monotonic() < until:
            await self.pause()
            _, queue, _ = await self.get("queue", self.rng.choice(QUEUES))
            listed = TICKET_LINK.findall(queue)
            if not listed:
                continue
            ticket_url = f"/tickets/{self.rng.choice(listed)}"
            await self.pause()
            status, page, _ = await self.get("ticket", ticket_url)
            if status != 200:
                continue
            token = hidden(page, "csrf_token")
            presence = {"state": "viewing", "csrf_token": token}
            await self.tally.request(
                self.session, "presence", "POST", f"{ticket_url}/presence", 204, data=presence
            )
            await self.pause()
            await self.write(ticket_url, page, token)

    async def write(self, ticket_url: str, page: str, token: str) -> None:
        """A reply or a note as the composer posts it; confirmed when newer messages came."""
        kind = "note" if self.rng.random() < NOTE_SHARE else "reply"
        form = {
            "csrf_token": token,
            "seen_message_id": hidden(page, "seen_message_id"),
            "text": f"Agent {self.n} here: we are looking into it ({secrets.token_hex(4)}).",
            kind: "1",
        }
        url = f"{ticket_url}/messages"
        status, shown, location = await self.tally.request(
            self.session, kind, "POST", url, 302, data=form
        )
        if status == 409:
            self.tally.conflicts += 1
            form |= {"seen_message_id": hidden(shown, "seen_message_id"), "confirm": "1"}
            status, _, location = await self.tally.request(
                self.session, kind, "POST", url, 302, data=form
            )
        if status == 302:
            await self.get("ticket", location)

    async def get(self, kind: str, url: str) -> tuple[int, str, str]:
        return await self.tally.request(self.session, kind, "GET", url, 200)

    async def pause(self) -> None:
        await asyncio.sleep(self.think * self.rng.uniform(0.5, 1.5))


def signed_texts(count: int, seed: int = 18) -> list[tuple[str, bytes, str]]:
    """(MessageSid, webhook body, signature); each sender texts about three times."""
    rng = random.Random(seed)
    senders = max(count // 3, 1)
    signed = []
    for n in range(count):
        form = sms_form(
            f"SMload{n:026d}", f"+1555{5_000_000 + rng.randrange(senders):07d}", rng.choice(TEXTS)
        )
        signed.append((form["MessageSid"], urlencode(form).encode(), sms_signature(form)))
    return signed


async def send_texts(base: str, texts: list[tuple[str, bytes, str]], rate: float, tally: Tally):
    """Post each text at its time on the schedule, whatever the answers to earlier ones."""
    connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=1.0)
    # Twilio gives up on a webhook after 15 s.
    timeout = aiohttp.ClientTimeout(total=15)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:
        loop = asyncio.get_running_loop()
        started, sending = loop.time(), []
        for n, (_, body, signature) in enumerate(texts):
            due = started + n / rate
            if (wait := due - loop.time()) > 0:
                await asyncio.sleep(wait)
            if (late := loop.time() - due) > LATE:
                tally.late += 1
                tally.most_late = max(tally.most_late, late)
            headers = {
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded",
            }
            posting = tally.request(
                session, "webhook", "POST", SMS_PATH, 200, data=body, headers=headers
            )
            sending.append(asyncio.ensure_future(posting))
        answers = await asyncio.gather(*sending)
    tally.texts_answered = {
        sid for (sid, _, _), (status, _, _) in zip(texts, answers, strict=True) if status == 200
    }


async def drive(
    base: str,
    settings: Settings,
    texts: list[tuple[str, bytes, str]],
    on_start: Callable[[], None],
) -> Tally:
    """Log the agents in, then run them and the texts side by side for the set time."""
    tally = Tally()
    agents = [Agent(n, base, tally, settings.think) for n in range(settings.agents)]
    try:
        for agent in agents:
            # Already at work when the clock starts: the pages' templates are compiled.
            await agent.log_in()
        tally.start()
        on_start()
        until = time.monotonic() + settings.seconds
        await asyncio.gather(
            send_texts(base, texts, settings.rate, tally), *(agent.work(until) for agent in agents)
        )
        tally.stop()
    finally:
        for agent in agents:
            await agent.session.close()
    return tally


# --- the layout around the drive --------------------------------------------------------------


def prepare(url: str, storage: str, sink, settings: Settings):
    """Schema, the text number, a mailbox sending to ``sink``, the agents and the seeded
    tickets (through the ticket service); returns the app for the checks afterwards."""
    from flask_migrate import upgrade
    from mail_servers import sending_mailbox
    from sqlalchemy import func, select
    from werkzeug.security import generate_password_hash

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.models import Role, Ticket, User
    from helpdesk.tickets import service, sms

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
    with app.app_context():
        upgrade()
        sms.add_number(number=NUMBER, stage="use")
        sending_mailbox(sink, enabled=False)  # nothing reads its inbox here
        password = generate_password_hash(PASSWORD)
        db.session.add_all(
            User(email=f"agent{n}@load.test", name=f"Agent {n}", role=Role.AGENT,
                 password_hash=password)
            for n in range(settings.agents)
        )  # fmt: skip
        started = time.monotonic()
        for n, message in enumerate(messages(settings.tickets * 3 // 2), 1):
            service.receive(message)
            if n % 200 == 0:
                db.session.commit()
        db.session.commit()
        seeded = db.session.scalar(select(func.count()).select_from(Ticket))
        print(f"seeded {seeded:,} tickets in {time.monotonic() - started:.0f} s", flush=True)
        db.engine.dispose()
    return app


def environment(url: str, storage: str, twilio_url: str, settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(16),
        "HELPDESK_STORAGE_DIR": storage,
        "TWILIO_API_URL": twilio_url,
        **twilio_settings(),
    }
    env.pop("REDIS_URL", None)
    if settings.on_postgresql:
        env["REDIS_URL"] = settings.redis_url
    return env


class CpuMeter:
    """CPU seconds the web processes spent during the drive, and the workers until they had
    taken in every text and sent every reply: figures a busy machine's wall clock hides."""

    def __init__(self, web: subprocess.Popen, workers: list[subprocess.Popen]) -> None:
        self.web_process, self.worker_processes = web, workers
        self.web = self.workers = 0.0

    def start(self) -> None:
        self.web = -cpu_seconds(self.web_process)
        self.workers = -sum(cpu_seconds(worker) for worker in self.worker_processes)

    def web_done(self) -> None:
        self.web += cpu_seconds(self.web_process)

    def workers_done(self) -> None:
        self.workers += sum(cpu_seconds(worker) for worker in self.worker_processes)


@dataclass
class Outcome:
    """Everything a run measured."""

    settings: Settings
    tally: Tally
    cpu: CpuMeter
    texts_sent: int
    drained_after: float | None
    texts_received: set[str]  # MessageSids in the inbox
    texts_stored: set[str]  # MessageSids made messages
    texts_twice: int
    intake_failed: int
    intake_lag: list[float]
    replies: Counter[str]
    log_locked: int
    log_errors: list[str]

    @property
    def texts_lost(self) -> int:
        """Texts answered 200 (Twilio would not send them again) that the inbox does not hold."""
        return len(self.tally.texts_answered - self.texts_received)


def run(settings: Settings) -> Outcome:
    """Seed, start the layout, drive it, wait for the workers to catch up, and look."""
    from mail_servers import running_sink
    from twilio_standin import start as start_twilio_standin

    texts = signed_texts(int(settings.rate * settings.seconds))
    with (
        scratch_database(settings.database_url) as url,
        tempfile.TemporaryDirectory() as storage,
        running_sink() as sink,
    ):
        standin, twilio = start_twilio_standin(ACCOUNT_SID, AUTH_TOKEN)
        try:
            app = prepare(url, storage, sink, settings)
            env = environment(url, storage, standin.url, settings)
            return serve_and_drive(app, env, Path(storage), settings, texts)
        finally:
            twilio.shutdown()


def serve_and_drive(app, env: dict[str, str], folder: Path, settings: Settings, texts) -> Outcome:
    logs = [folder / "web.log"] + [folder / f"worker{n}.log" for n in range(settings.processes)]
    handles = [path.open("w") for path in logs]
    processes = []
    try:
        web, port = start_web(
            "wsgi:app", env, workers=settings.processes, threads=settings.threads,
            log=handles[0],
        )  # fmt: skip
        processes.append(web)
        workers = [start_worker(env, handle) for handle in handles[1:]]
        processes += workers
        cpu = CpuMeter(web, workers)
        tally = asyncio.run(drive(f"http://127.0.0.1:{port}", settings, texts, cpu.start))
        cpu.web_done()
        drained_after = settle(app, patience=max(120.0, settings.seconds))
        cpu.workers_done()
    finally:
        for process in processes:
            stop(process)
        for handle in handles:
            handle.close()
    locked, errors = scan(logs)
    received, stored, twice, failed, lag, replies = intake(app)
    return Outcome(
        settings, tally, cpu, len(texts), drained_after,
        received, stored, twice, failed, lag, replies, locked, errors,
    )  # fmt: skip


def settle(app, patience: float) -> float | None:
    """Seconds until no text waits in the inbox and no reply in the outbox; None if never."""
    from sqlalchemy import func, select

    from helpdesk.extensions import db
    from helpdesk.models import DeliveryState, InboxItem, Message

    started = time.monotonic()
    with app.app_context():
        while time.monotonic() - started < patience:
            waiting = db.session.scalar(
                select(func.count()).select_from(InboxItem).where(InboxItem.processed_at.is_(None))
            ) + db.session.scalar(
                select(func.count())
                .select_from(Message)
                .where(Message.delivery_state == DeliveryState.QUEUED)
            )
            db.session.rollback()
            if not waiting:
                return time.monotonic() - started
            time.sleep(0.5)
        db.engine.dispose()
    return None


def intake(app) -> tuple[set[str], set[str], int, int, list[float], Counter[str]]:
    """Texts in the inbox, texts made messages, those stored twice, inbox items refused,
    intake lags in seconds, replies by delivery state."""
    from sqlalchemy import func, select

    from channels.base import Channel
    from helpdesk.extensions import db
    from helpdesk.models import Direction, InboxItem, Message

    with app.app_context():
        ours = InboxItem.external_id.like("SMload%")
        items = db.session.execute(
            select(
                InboxItem.external_id,
                InboxItem.received_at,
                InboxItem.processed_at,
                InboxItem.error,
            ).where(ours)
        ).all()
        stored = db.session.scalars(
            select(Message.external_id).where(
                Message.channel == Channel.SMS,
                Message.direction == Direction.INBOUND,
                Message.external_id.like("SMload%"),
            )
        ).all()
        replies = Counter(
            {
                str(state.value if state else "none"): count
                for state, count in db.session.execute(
                    select(Message.delivery_state, func.count())
                    .where(Message.direction == Direction.OUTBOUND, Message.author_id.is_not(None))
                    .group_by(Message.delivery_state)
                )
            }
        )
        db.engine.dispose()
    lag = [(done - received).total_seconds() for _, received, done, _ in items if done]
    refused = sum(1 for *_, error in items if error)
    received = {sid for sid, *_ in items}
    return received, set(stored), len(stored) - len(set(stored)), refused, lag, replies


def scan(logs: list[Path]) -> tuple[int, list[str]]:
    """How often the logs say "database is locked", and their error lines (first of each)."""
    locked, errors = 0, []
    for path in logs:
        for line in path.read_text(errors="replace").splitlines():
            locked += LOCKED in line.lower()
            if ("ERROR" in line or line.startswith("Traceback")) and line not in errors:
                errors.append(line)
    return locked, errors


# --- the figures ------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] if ordered else 0.0


def report(outcome: Outcome) -> None:
    settings, tally = outcome.settings, outcome.tally
    dialect = "postgresql" if settings.on_postgresql else "sqlite"
    print(
        f"{dialect}: {settings.processes} web process(es) (gunicorn gthread, {settings.threads} "
        f"threads), {settings.processes} worker(s); {settings.agents} agents (think "
        f"{settings.think:g} s) and {settings.rate:g} texts/s for {settings.seconds:g} s; "
        f"about {settings.tickets:,} tickets seeded"
    )
    before, after = (" ".join(f"{v:.2f}" for v in load) for load in tally.loads)
    print(f"load average (1, 5, 15 min): before {before}, after {after}")
    print(f"  {'kind':<10} {'requests':>9} {'per s':>7} {'p50 ms':>8} {'p95 ms':>8}")
    every = [value for timings in tally.timings.values() for value in timings]
    for kind, timings in [*sorted(tally.timings.items()), ("all", every)]:
        print(
            f"  {kind:<10} {len(timings):>9,} {len(timings) / tally.elapsed:>7.1f} "
            f"{percentile(timings, 0.5) * 1000:>8.0f} {percentile(timings, 0.95) * 1000:>8.0f}"
        )
    errors = ", ".join(f"{what} x{count}" for what, count in tally.errors.most_common()) or "none"
    print(f"errors (target 0): {sum(tally.errors.values())}: {errors}")
    print(
        f'"database is locked" (target 0): {outcome.log_locked} in the server logs, '
        f"{tally.locked} in 5xx answers"
    )
    print(
        f"replies and notes answered 409 (newer messages shown, then confirmed): {tally.conflicts}"
    )
    print(
        f"texts: {outcome.texts_sent:,} scheduled, {tally.late:,} sent late (> {LATE * 1000:.0f} "
        f"ms; at most {tally.most_late * 1000:.0f} ms), {len(tally.texts_answered):,} answered "
        f"200, {len(outcome.texts_received):,} in the inbox, {len(outcome.texts_stored):,} "
        f"taken in ({outcome.texts_twice} twice, "
        f"{len(outcome.texts_received - outcome.texts_stored):,} still waiting), "
        f"{outcome.texts_lost:,} answered 200 but not "
        "in the inbox (target 0), "
        f"{outcome.intake_failed:,} refused by intake"
    )
    drained = (
        f"{outcome.drained_after:.1f} s after the drive"
        if outcome.drained_after is not None
        else "NOT within the patience"
    )
    print(
        f"inbox and outbox empty {drained}; intake lag (received -> message) "
        f"p50 {percentile(outcome.intake_lag, 0.5):.1f} s, "
        f"p95 {percentile(outcome.intake_lag, 0.95):.1f} s"
    )
    print(f"agents' replies by delivery state: {dict(outcome.replies)}")
    requests = sum(len(timings) for timings in tally.timings.values())
    web_each = outcome.cpu.web / max(requests, 1) * 1000
    worker_each = outcome.cpu.workers / max(len(outcome.texts_stored), 1) * 1000
    print(
        f"CPU: web {outcome.cpu.web:.1f} s ({web_each:.1f} ms a request), workers "
        f"{outcome.cpu.workers:.1f} s ({worker_each:.1f} ms a text taken in, replies sent too), "
        f"this client {tally.client_cpu:.1f} s (the Twilio stand-in and SMTP sink included) "
        f"in {tally.elapsed:.0f} s"
    )
    for line in outcome.log_errors[:10]:
        print(f"  log: {line[:200]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Settings()
    parser.add_argument("--seconds", type=float, default=defaults.seconds)
    parser.add_argument("--agents", type=int, default=defaults.agents)
    parser.add_argument("--rate", type=float, default=defaults.rate, help="texts per second")
    parser.add_argument("--think", type=float, default=defaults.think, help="seconds per step")
    parser.add_argument("--tickets", type=int, default=defaults.tickets, help="seeded first")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="per web process")
    parser.add_argument("--database-url", help="a PostgreSQL server; default a SQLite file")
    parser.add_argument("--redis-url", default=defaults.redis_url, help="with PostgreSQL")
    report(run(Settings(**vars(parser.parse_args()))))


if __name__ == "__main__":
    main()
