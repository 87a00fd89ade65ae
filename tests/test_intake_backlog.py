"""The worker working through a backlog of texts while more arrive (bench/load.py found it).

On SQLite the worker's intake held the database's one write lock for a whole batch of 50
texts and took it again at once after each commit, so webhooks waiting for it timed out
(Twilio gives up after 15 s) while the worker caught up. Now a batch commits after a quarter
of a second, and on SQLite the worker leaves the lock free long enough for every waiting
request to get its turn before the next batch. And the worker took in the whole backlog
before it sent its outbox again: agents' replies waited minutes; now it takes texts in for a
couple of seconds at a time, sending between the turns.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from functools import partial

import pytest
from flask import Flask
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from channels.base import Channel
from helpdesk import inbox
from helpdesk.commands import worker
from helpdesk.extensions import db
from helpdesk.models import InboxItem, Message
from helpdesk.tickets import service, sms

NUMBER = "+15550001000"
AUTH_TOKEN = "backlog-token"
WEBHOOK = "/webhooks/twilio/sms"


@pytest.fixture
def number(ctx: Flask) -> None:
    sms.add_number(number=NUMBER, stage="use")
    db.session.commit()


def text_form(sender: str, body: str) -> dict[str, str]:
    sid = f"SM{uuid.uuid4().hex}"
    return {"MessageSid": sid, "AccountSid": "AC1", "From": sender, "To": NUMBER, "Body": body}


def accept_backlog(texts: list[tuple[str, str]]) -> None:
    """Store texts in the inbox as the webhook does, in this order."""
    with db.engine.begin() as connection:
        for sender, body in texts:
            form = text_form(sender, body)
            inbox.accept(connection, Channel.SMS, form["MessageSid"], form, sender=sender)


def test_a_backlog_cut_into_short_batches_keeps_each_senders_order(ctx, number, monkeypatch):
    monkeypatch.setattr(inbox, "BATCH_SECONDS", 0.0)  # every batch commits after one text
    monkeypatch.setattr(inbox, "SQLITE_WRITERS_TURN", 0.0)
    senders = [f"+155500030{n:02d}" for n in range(3)]
    accept_backlog([(sender, f"text {n}") for n in range(4) for sender in senders])

    summary = inbox.process_due()

    assert (summary.stored, summary.failed) == (12, 0)
    texts_by_ticket = defaultdict(list)
    for message in db.session.scalars(select(Message).order_by(Message.id)):
        texts_by_ticket[message.ticket_id].append(message.text)
    assert sorted(texts_by_ticket.values()) == [[f"text {n}" for n in range(4)]] * 3


def test_a_text_arriving_during_a_backlog_is_stored_before_the_backlog_is_done(
    app, ctx, client, number, monkeypatch
):
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    accept_backlog([(f"+15550004{n:03d}", "Where is my parcel?") for n in range(40)])
    started, receive = threading.Event(), service.receive

    def slow_receive(msg):
        # A busy machine: each text takes the worker 10 ms at least.
        started.set()
        threading.Event().wait(0.01)
        return receive(msg)

    monkeypatch.setattr(service, "receive", slow_receive)

    def work_through_backlog() -> None:
        with app.app_context():
            inbox.process_due()
            db.session.remove()

    worker = threading.Thread(target=work_through_backlog)
    worker.start()
    started.wait(10)
    form = text_form("+15550009999", "Is anyone there?")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(
        app.config["HELPDESK_PUBLIC_URL"] + WEBHOOK, form
    )
    answer = client.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})
    backlog_left = worker.is_alive()
    worker.join(60)

    assert answer.status_code == 200
    assert backlog_left, "the text was answered only once the worker had taken in everything"
    stored = db.session.scalars(select(InboxItem.external_id)).all()
    assert form["MessageSid"] in stored and len(stored) == 41


@pytest.fixture
def whole_batches(monkeypatch) -> None:
    """Batches of 50 however slow the machine, and no pause between them."""
    monkeypatch.setattr(inbox, "BATCH_SECONDS", 3600.0)
    monkeypatch.setattr(inbox, "SQLITE_WRITERS_TURN", 0.0)


def test_a_turn_of_intake_stops_at_its_budget_and_leaves_the_rest_due(ctx, number, whole_batches):
    accept_backlog([(f"+15550005{n:03d}", "Where is my parcel?") for n in range(60)])

    first = inbox.process_due(budget=0.0)

    assert first.more_due and first.stored == inbox.BATCH_SIZE
    rest = inbox.process_due(budget=0.0)
    assert (rest.stored, rest.more_due) == (10, False)


def test_the_worker_sends_its_outbox_between_turns_of_a_backlog(
    ctx, number, whole_batches, monkeypatch
):
    accept_backlog([(f"+15550006{n:03d}", "Where is my parcel?") for n in range(120)])
    outbox_rounds = []
    monkeypatch.setattr(worker, "run_due", lambda name, **_: outbox_rounds.append(name))
    stop = threading.Event()

    def stop_when_taken_in() -> None:
        if not db.session.scalar(select(InboxItem.id).where(InboxItem.processed_at.is_(None))):
            stop.set()

    jobs = (
        worker.PeriodicJob("intake", 0.0, partial(inbox.process_due, budget=0.0)),
        worker.PeriodicJob("until done", 0.0, stop_when_taken_in),
    )
    # A turn that left texts due starts the next at once: never the hour between polls.
    worker.serve("w1", interval=3600, stop=stop, jobs=jobs)

    assert len(outbox_rounds) == 3  # one per turn of 50, 50 and 20 texts
    assert db.session.scalar(select(func.count()).select_from(Message)) == 120
