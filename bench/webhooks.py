"""Webhook fan-out: N ticket events to 3 endpoints, one healthy, one slow, one failing half
the time, delivered by the worker's webhook job while the events are still being written.

Usage: python bench/webhooks.py [--events N] [--tickets T] [--rate R] [--seconds S]
                                [--database-url URL]

Writes N (default 10,000) `ticket.updated` events over T tickets (default 1,000) at R events
per second (default 500), each committed with the time it was written. Three real HTTP
receivers on 127.0.0.1 verify every signature: "healthy" answers at once, "slow" after 200 ms,
"flaky" fails every other request. The worker's job (``Dispatcher.run``) runs every 0.2 s, as
the worker would, until the healthy endpoint has everything or S seconds (default 300) pass.

Prints per endpoint: delivered, still queued (waiting for a retry or behind an earlier event of
the same ticket), delivered per second, p50/p95 event-to-delivery latency, events lost (neither
delivered nor queued), ids received twice, and events received out of order per ticket.
Without --database-url the database is a SQLite file in the temp folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
os.environ.setdefault("SECRET_KEY", "bench")

from flask_migrate import upgrade
from sqlalchemy import func, select
from webhook_receiver import Receiver

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import WebhookDelivery, WebhookState
from helpdesk.webhooks import endpoints
from helpdesk.webhooks.delivery import Dispatcher
from helpdesk.webhooks.events import emit

BATCH = 50


def main() -> None:
    """Run the bench and print its figures."""
    args = _arguments()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/webhooks.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE": True})
    receivers = {
        "healthy": Receiver(),
        "slow": Receiver(delay=0.2),
        "flaky": Receiver(fail_every_other=True),
    }
    written: dict[str, float] = {}
    with app.app_context():
        upgrade()
        ids = {}
        for name, receiver in receivers.items():
            receiver.up()
            endpoint, secret = endpoints.subscribe(receiver.url, ["ticket.updated"], None)
            receiver.secrets.append(secret)
            ids[name] = endpoint.id
        db.session.commit()
        producer = threading.Thread(target=_write_events, args=(app, args, written))
        started = time.monotonic()
        producer.start()
        dispatcher = Dispatcher("bench")
        while time.monotonic() - started < args.seconds:
            dispatcher.run()
            if not producer.is_alive() and len(receivers["healthy"].accepted()) >= args.events:
                break
            time.sleep(0.2)
        elapsed = time.monotonic() - started
        dispatcher.pool.shutdown(wait=True)
        producer.join()
        db.session.remove()
        print(f"{args.events:,} events over {args.tickets:,} tickets, {elapsed:.1f} s, {url}")
        for name, receiver in receivers.items():
            _report(name, receiver, ids[name], written, args.events, elapsed)
        for receiver in receivers.values():
            receiver.down()


def _write_events(app, args: argparse.Namespace, written: dict[str, float]) -> None:
    pause = BATCH / args.rate
    with app.app_context():
        for first in range(0, args.events, BATCH):
            tick = time.monotonic()
            for n in range(first, min(first + BATCH, args.events)):
                ticket = n % args.tickets + 1
                data = {"ticket": {"id": ticket}, "sequence": n}
                event_id = emit(db.session, "ticket.updated", data, ticket_id=ticket)
                written[event_id] = 0.0
            db.session.commit()
            now = time.monotonic()
            for event_id, at in written.items():
                if not at:
                    written[event_id] = now
            time.sleep(max(0.0, pause - (now - tick)))


def _report(
    name: str,
    receiver: Receiver,
    endpoint_id: int,
    written: dict[str, float],
    events: int,
    elapsed: float,
) -> None:
    got = receiver.accepted()
    unique = {r.msg_id for r in got}
    queued = db.session.scalar(
        select(func.count(WebhookDelivery.id)).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.state == WebhookState.PENDING,
        )
    )
    latencies = sorted(r.at - written[r.msg_id] for r in got if r.msg_id in written)
    out_of_order = _out_of_order(got)
    p50 = statistics.median(latencies) * 1000 if latencies else 0
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000 if latencies else 0
    print(
        f"  {name:8} delivered {len(unique):6,}  queued {queued:6,}  "
        f"{len(unique) / elapsed:7.1f}/s  p50 {p50:7.0f} ms  p95 {p95:7.0f} ms  "
        f"lost {events - len(unique) - queued}  twice {len(got) - len(unique)}  "
        f"out of order {out_of_order}"
    )


def _out_of_order(got: list) -> int:
    last: dict[int, int] = {}
    wrong = 0
    for received in got:
        data = received.payload["data"]
        ticket, sequence = data["ticket"]["id"], data["sequence"]
        if sequence < last.get(ticket, -1):
            wrong += 1
        last[ticket] = max(sequence, last.get(ticket, -1))
    return wrong


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--database-url")
    return parser.parse_args()


if __name__ == "__main__":
    main()
