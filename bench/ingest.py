"""Intake throughput of the ticket service: messages per second through ``receive``.

Usage: python bench/ingest.py [--messages N] [--database-url URL]

Feeds a mix of new email, SMS and chat requests plus threaded follow-ups (one in three)
through ``helpdesk.tickets.service.receive``, committing every 100 messages as a mailbox
poll would, and prints the rate. Without --database-url it uses a fresh SQLite file; a
PostgreSQL URL gets a fresh database of its own on that server, dropped afterwards.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from channels.base import Channel, InboundMessage


@contextmanager
def scratch_database(url: str | None):
    """A database that exists only for this run."""
    if not url:
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{folder}/bench.sqlite3"
        return
    server = make_url(url).set(drivername="postgresql+psycopg")
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))


def messages(count: int, seed: int = 7):
    """New requests and follow-ups across the three channels, like a busy support day."""
    rng = random.Random(seed)
    sent_email_ids: list[tuple[str, str]] = []
    for n in range(count):
        channel = rng.choice([Channel.EMAIL, Channel.EMAIL, Channel.SMS, Channel.CHAT])
        person = rng.randrange(count // 3 + 1)
        follow_up = sent_email_ids and rng.random() < 0.33
        if channel == Channel.EMAIL:
            hints: tuple[str, ...] = ()
            sender = f"customer{person}@example.test"
            if follow_up:
                sender, earlier = rng.choice(sent_email_ids)
                hints = (earlier,)
            external_id = f"<bench-{n}@example.test>"
            sent_email_ids.append((sender, external_id))
            yield InboundMessage(
                channel=channel,
                endpoint="support@shop.test",
                external_id=external_id,
                sender=sender,
                subject=f"Question about order {1000 + n}",
                text="Hello, my order has not arrived yet. Could you check? " * 3,
                thread_hints=hints,
            )
        elif channel == Channel.SMS:
            yield InboundMessage(
                channel=channel,
                endpoint="+15550001000",
                external_id=f"SM{n:032d}",
                sender=f"+1555{person:07d}",
                text="Where is my parcel?",
            )
        else:
            yield InboundMessage(
                channel=channel,
                endpoint="shop.test",
                external_id=f"chat-{n}",
                sender=f"visitor-{person}",
                conversation_id=f"conv-{person}",
                text="Hi, do you ship to Norway?",
                page_url="https://shop.test/pricing",
            )


def run(count: int, database_url: str | None) -> None:
    os.environ.setdefault("SECRET_KEY", "bench")
    from flask_migrate import upgrade

    from helpdesk import create_app
    from helpdesk.extensions import db
    from helpdesk.tickets import service

    with scratch_database(database_url) as url, tempfile.TemporaryDirectory() as storage:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_STORAGE_DIR": storage})
        with app.app_context():
            upgrade()
            batch = list(messages(count))
            started = time.perf_counter()
            for n, msg in enumerate(batch, 1):
                service.receive(msg)
                if n % 100 == 0:
                    db.session.commit()
            db.session.commit()
            elapsed = time.perf_counter() - started
            dialect = db.engine.dialect.name
            db.engine.dispose()
    print(f"{dialect}: {count} messages in {elapsed:.2f} s = {count / elapsed:.0f} messages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    run(args.messages, args.database_url)


if __name__ == "__main__":
    main()
