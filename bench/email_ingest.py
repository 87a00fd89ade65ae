"""Email intake throughput through the real fetch path: Dovecot, IMAP, parsing, tickets.

Usage: python bench/email_ingest.py [--process-messages N] [--messages N] [--database-url URL]
                                     [--seed S]

Appends generated support mails (30 % replies, 5 % auto-replies, attachments, non-ASCII text)
to a Dovecot of its own and takes them in twice over, each time into a fresh database:
first a backlog of --process-messages (1,000) by ``helpdesk mailbox fetch`` as a process of
its own, timed from start to exit (interpreter start and app creation included); then a
backlog of --messages (5,000) by the fetch the worker calls, in this process. Each prints
messages per second, CPU time, how many replies landed on the right ticket, how many
auto-replies became tickets, and the machine's load average. Without --database-url it uses
fresh SQLite files; a PostgreSQL URL gets fresh databases, dropped afterwards.
"""

from __future__ import annotations

import argparse
import base64
import gc
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from ingest import scratch_database  # noqa: E402  (bench/ingest.py)
from mail_servers import running_dovecot  # noqa: E402  (the tests' Dovecot launcher)

TEXT_PART = "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit"
ATTACHMENT = base64.encodebytes(random.Random(0).randbytes(24_000)).decode()
FIRST_SENT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
NAMES = ["Jürgen Groß", "Zoë Ødegård", "Ada Lovelace", "Łukasz Żółw", "Chloé Dupré", "Wei 王"]


@dataclass(frozen=True, slots=True)
class Generated:
    raw: bytes
    message_id: str
    root: str | None  # the message whose ticket a reply belongs on
    automatic: bool


def generate(count: int, rng: random.Random) -> list[Generated]:
    """A busy support inbox: new requests, replies to earlier mail, out-of-office answers."""
    mails: list[Generated] = []
    people: list[tuple[str, str, str]] = []  # (message id, sender, root) customers can reply to
    for n in range(count):
        message_id = f"<bench-{n}-{rng.getrandbits(32):x}@customer.test>"
        roll = rng.random()
        if roll < 0.05:
            sender = f"away{n}@customer.test"
            headers = "Auto-Submitted: auto-replied\r\nPrecedence: bulk\r\n"
            mails.append(
                Generated(
                    _mail(n, message_id, sender, "Out of office", headers, "Back on Monday.", rng),
                    message_id,
                    None,
                    True,
                )
            )
        elif roll < 0.35 and people:
            earlier, sender, root = rng.choice(people)
            headers = f"In-Reply-To: {earlier}\r\nReferences: {earlier}\r\n"
            body = (
                "Danke, noch eine Frage zur Größe.\r\n\r\n"
                "On Mon, 23 Nov 2026, Support wrote:\r\n> Ihre Bestellung ist unterwegs.\r\n"
            )
            mails.append(
                Generated(
                    _mail(n, message_id, sender, "Re: Bestellung", headers, body, rng),
                    message_id,
                    root,
                    False,
                )
            )
            people.append((message_id, sender, root))
        else:
            sender = f"customer{rng.randrange(count)}@customer.test"
            body = (
                f"Grüße! Meine Bestellung {1000 + n} ist nicht angekommen, könnten Sie nachsehen?"
            )
            mails.append(
                Generated(
                    _mail(
                        n,
                        message_id,
                        sender,
                        f"Bestellung {1000 + n}: Lieferung nach Köln",
                        "",
                        body,
                        rng,
                    ),
                    message_id,
                    None,
                    False,
                )
            )
            people.append((message_id, sender, message_id))
    return mails


def _mail(
    n: int,
    message_id: str,
    sender: str,
    subject: str,
    headers: str,
    body: str,
    rng: random.Random,
) -> bytes:
    name = rng.choice(NAMES)
    # A mail a minute: alike From, Subject and body (a customer's second "Re:") written at the
    # same moment would be copies of one mail.
    sent = format_datetime(FIRST_SENT + timedelta(minutes=n))
    head = (
        f"From: {name} <{sender}>\r\nTo: support@shop.test\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: {sent}\r\n"
        f"MIME-Version: 1.0\r\n{headers}"
    )
    if rng.random() < 0.15:
        return (
            f'{head}Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
            f"--b\r\n{TEXT_PART}\r\n\r\n{body}\r\n"
            "--b\r\nContent-Type: application/pdf\r\n"
            f'Content-Disposition: attachment; filename="Rechnung {rng.randrange(99)}.pdf"\r\n'
            f"Content-Transfer-Encoding: base64\r\n\r\n{ATTACHMENT}--b--\r\n"
        ).encode()
    return (f"{head}{TEXT_PART}\r\n\r\n{body}\r\n").encode()


def _children_cpu() -> float:
    """CPU seconds of finished child processes (and the children they waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "load average " + " ".join(f"{figure:.2f}" for figure in os.getloadavg())


@dataclass(frozen=True, slots=True)
class Outcome:
    """How the generated mail landed: replies on their root's ticket, auto-replies ticketless."""

    dialect: str
    replies_right: int
    replies: int
    auto_tickets: int
    automatic: int

    def __str__(self) -> str:
        return (
            f"{self.dialect}: replies threaded right: {self.replies_right} of {self.replies}; "
            f"auto-replies turned into tickets: {self.auto_tickets} of {self.automatic}"
        )


def _outcome(mails: list[Generated]) -> Outcome:
    from sqlalchemy import select

    from helpdesk.extensions import db
    from helpdesk.models import Message, Ticket

    ticket_of = dict(db.session.execute(select(Message.external_id, Message.ticket_id)).all())
    replies = [m for m in mails if m.root and m.root != m.message_id]
    right = sum(ticket_of.get(m.message_id) == ticket_of.get(m.root) is not None for m in replies)
    automatic = {m.message_id for m in mails if m.automatic}
    first_messages = db.session.scalars(
        select(Message.external_id).join(Ticket).where(Message.thread_reason == "new request")
    ).all()
    auto_tickets = sum(external_id in automatic for external_id in first_messages)
    return Outcome(db.engine.dialect.name, right, len(replies), auto_tickets, len(automatic))


@dataclass(frozen=True, slots=True)
class _Prepared:
    mails: list[Generated]
    database_url: str
    storage: str


@contextmanager
def _prepared(count: int, database_url: str | None, seed: int) -> Iterator[_Prepared]:
    """A Dovecot folder holding ``count`` generated mails and a migrated database whose one
    mailbox reads it."""
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox

    mails = generate(count, random.Random(seed))
    with (
        running_dovecot() as dovecot,
        scratch_database(database_url) as url,
        tempfile.TemporaryDirectory() as storage,
    ):
        folder = dovecot.new_folder()
        appended = time.perf_counter()
        dovecot.append(folder, *(m.raw for m in mails))
        print(f"appended {count} messages to Dovecot in {time.perf_counter() - appended:.1f} s")
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
        with app.app_context():
            upgrade()
            add_mailbox(
                MailboxSettings(
                    address="support@shop.test",
                    imap_host=dovecot.host,
                    imap_port=dovecot.port,
                    imap_security="none",
                    imap_user=dovecot.user,
                    imap_password=dovecot.password,
                    folder=folder,
                )
            )
            db.session.commit()
            yield _Prepared(mails, url, storage)
            db.engine.dispose()


def run_in_process(count: int, database_url: str | None, seed: int) -> None:
    """The fetch called in this process, as the worker calls it: the steady-state rate."""
    from helpdesk.mail.intake import fetch_all

    with _prepared(count, database_url, seed) as prepared:
        # As `helpdesk worker` starts (helpdesk/cli.py): what start-up built is left out of the
        # collector's full passes.
        gc.freeze()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started, cpu_started = time.perf_counter(), time.process_time()
        helpers_started = _children_cpu()
        [report] = fetch_all("bench:1")
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        helper_cpu = _children_cpu() - helpers_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcome = _outcome(prepared.mails)
    dialect = outcome.dialect
    print(f"{dialect}: {report}")
    print(f"{dialect}: {count} messages in {elapsed:.2f} s = {count / elapsed:.0f} messages/s")
    print(f"CPU time of the fetching process: {cpu:.2f} s = {cpu / count * 1000:.2f} ms a message")
    print(f"CPU time of its parsing helper: {helper_cpu:.2f} s")
    print(f"peak memory: {peak / 1024:.0f} MB (before the fetch: {before / 1024:.0f} MB)")
    print(outcome)
    print(_load())


def run_whole_process(count: int, database_url: str | None, seed: int) -> None:
    """``helpdesk mailbox fetch`` as a process of its own, timed from start to exit."""
    command = [str(Path(sys.executable).with_name("helpdesk")), "mailbox", "fetch"]
    with _prepared(count, database_url, seed) as prepared:
        env = {
            **os.environ,
            "DATABASE_URL": prepared.database_url,
            "HELPDESK_STORAGE_DIR": prepared.storage,
        }
        # An installed program runs from compiled bytecode: let the first start write it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([*command[:-1], "list"], env=env, check=True, capture_output=True)
        cpu_started = _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        cpu = _children_cpu() - cpu_started
        if done.returncode:
            raise SystemExit(f"helpdesk mailbox fetch failed:\n{done.stdout}{done.stderr}")
        outcome = _outcome(prepared.mails)
    dialect = outcome.dialect
    print(f"{dialect}: {done.stdout.strip()}")
    print(
        f"{dialect}: whole process `helpdesk mailbox fetch` of {count} messages, start to exit: "
        f"{elapsed:.2f} s = {count / elapsed:.0f} messages/s"
    )
    print(f"CPU time of the process and its parsing helper: {cpu:.2f} s")
    print(outcome)
    print(_load())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000, help="the in-process backlog")
    parser.add_argument(
        "--process-messages",
        type=int,
        default=1000,
        help="the backlog of the whole-process run (0: skip it)",
    )
    parser.add_argument("--database-url")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    os.environ.setdefault("SECRET_KEY", "bench")
    if args.process_messages:
        run_whole_process(args.process_messages, args.database_url, args.seed)
    if args.messages:
        run_in_process(args.messages, args.database_url, args.seed)


if __name__ == "__main__":
    main()
