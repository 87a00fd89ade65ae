"""Concurrent intake: any number of workers, no deadlock, each sender's messages in order.

The production layout runs several `helpdesk worker` processes on PostgreSQL while texts,
mail and chat arrive at once. Here two real worker processes (one of them killed mid-round and
started again, every round) take in 40 senders x 6 interleaved texts per round and mail from
overlapping senders in two mailboxes, while chat comes in from this process as the web app
takes it. Today's code deadlocked there within two rounds.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from mail_samples import mail
from psycopg.errors import DeadlockDetected
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from channels.base import Channel, OutboundMessage, SendResult
from helpdesk import inbox, outbox
from helpdesk.extensions import db
from helpdesk.inbox import process_due
from helpdesk.mail import intake as mail_intake
from helpdesk.mail.intake import fetch_mailbox
from helpdesk.models import (
    DeliveryState,
    InboundEmail,
    InboxItem,
    IntakeOutcome,
    Message,
    Ticket,
    utcnow,
)
from helpdesk.tickets import intake as ticket_intake
from helpdesk.tickets import service

SENDERS, TEXTS, ROUNDS = 40, 6, 2
MAIL_SENDERS = 25
NUMBER = "+15550001000"
# Far beyond what a round takes; only a hang or a deadlock's backoff comes near it.
PATIENCE = 90.0


class Worker:
    """A `helpdesk worker` process on the test database, its output kept in a log file."""

    def __init__(self, app: Flask, log: Path) -> None:
        self.app, self.log = app, log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.app.config["SQLALCHEMY_DATABASE_URI"],
            "HELPDESK_STORAGE_DIR": self.app.config["HELPDESK_STORAGE_DIR"],
            "HELPDESK_MAIL_POLL_SECONDS": "0.2",
        }
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [Path(sys.executable).with_name("helpdesk"), "worker", "--interval", "0.1"],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(app: Flask, tmp_path: Path) -> Iterator[list[Worker]]:
    started = [Worker(app, tmp_path / f"worker{n}.log") for n in (1, 2)]
    yield started
    for worker in started:
        worker.stop()


def accept_texts(rng: random.Random, round_: int) -> None:
    """40 senders x 6 texts, interleaved at random, stored as the webhook stores them."""
    texts = [(sender, n) for sender in range(SENDERS) for n in range(TEXTS)]
    rng.shuffle(texts)
    # Each sender's texts keep their order; which sender comes next is random.
    sent: Counter[int] = Counter()
    arrivals = []
    for sender, _ in texts:
        arrivals.append((sender, sent[sender]))
        sent[sender] += 1
    for start in range(0, len(arrivals), 40):
        with db.engine.begin() as connection:
            for sender, n in arrivals[start : start + 40]:
                accept_text(connection, f"+1555010{sender:04d}", f"round {round_} text {n}")


def accept_text(connection, sender: str, body: str) -> None:
    """Store a text as the signed webhook does."""
    form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": sender, "To": NUMBER, "Body": body}
    inbox.accept(connection, Channel.SMS, form["MessageSid"], form, sender=sender)


def chat_in(app: Flask, inbound, round_: int) -> None:
    """Chat messages as the web app takes them: each in its own request transaction."""
    with app.app_context():
        for visitor in range(10):
            for n in range(3):
                service.receive(
                    inbound(
                        Channel.CHAT,
                        sender=f"visitor-{visitor}",
                        conversation_id=f"conversation-{visitor}",
                        text=f"round {round_} chat {n}",
                    )
                )
                db.session.commit()
        db.session.remove()


def taken_in() -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(InboxItem).where(InboxItem.processed_at.is_not(None))
    )


def settled(mails: int) -> bool:
    """Every text taken in (or waiting out a backoff, which a deadlock would cause) and every
    mail stored."""
    db.session.rollback()
    at = utcnow()
    due = db.session.scalar(
        select(func.count())
        .select_from(InboxItem)
        .where(InboxItem.processed_at.is_(None), InboxItem.next_attempt_at <= at)
    )
    return due == 0 and db.session.scalar(select(func.count(InboundEmail.id))) >= mails


@pytest.mark.postgresql
def test_two_workers_take_every_message_once_in_each_senders_order(
    app, ctx, workers, dovecot, make_mailbox, inbound
):
    rng = random.Random(13)
    folders = [dovecot.new_folder() for _ in range(2)]
    for n, folder in enumerate(folders):
        make_mailbox(address=f"support{n}@shop.test", folder=folder)
    for worker in workers:
        worker.start()
    mails = 0
    for round_ in range(ROUNDS):
        # Both mailboxes hear from the same senders, in different orders.
        for number, folder in enumerate(folders):
            senders = [f"customer{n}@customer.test" for n in range(MAIL_SENDERS)]
            rng.shuffle(senders)
            subject = f"Round {round_} to mailbox {number}"
            dovecot.append(folder, *(mail(subject=subject, sender=s) for s in senders))
            mails += MAIL_SENDERS
        chat = threading.Thread(target=chat_in, args=(app, inbound, round_))
        chat.start()
        accept_texts(rng, round_)
        deadline = time.monotonic() + PATIENCE
        while taken_in() < (round_ + 0.25) * SENDERS * TEXTS and time.monotonic() < deadline:
            time.sleep(0.01)
        # Killed mid-run, as in production: its claims go back to the inbox.
        workers[1].kill()
        workers[1].start()
        chat.join()
        while not settled(mails) and time.monotonic() < deadline:
            time.sleep(0.2)
    for worker in workers:
        worker.stop()

    db.session.rollback()
    items = db.session.scalars(select(InboxItem).order_by(InboxItem.id)).all()
    assert [item.error for item in items if item.processed_at is None] == []
    texts = db.session.scalars(select(Message).where(Message.channel == Channel.SMS)).all()
    assert len(texts) == len(items) == ROUNDS * SENDERS * TEXTS
    assert {item.message_id for item in items} == {message.id for message in texts}
    # Per sender, the messages were made in the order the texts came in.
    made: dict[str, list[int]] = defaultdict(list)
    for item in items:
        made[item.sender].append(item.message_id)
    assert {sender: ids for sender, ids in made.items() if ids != sorted(ids)} == {}

    outcomes = Counter(db.session.scalars(select(InboundEmail.outcome)))
    assert outcomes == {IntakeOutcome.STORED: mails}
    emails = db.session.scalar(
        select(func.count()).select_from(Message).where(Message.channel == Channel.EMAIL)
    )
    assert emails == mails
    chats = db.session.scalars(
        select(Message.text).where(Message.channel == Channel.CHAT).order_by(Message.id)
    ).all()
    assert Counter(chats) == {
        f"round {round_} chat {n}": 10 for round_ in range(ROUNDS) for n in range(3)
    }

    logs = "".join(worker.log.read_text() for worker in workers)
    assert "deadlock" not in logs.lower()
    assert "Traceback" not in logs


def deadlock() -> OperationalError:
    """What SQLAlchemy raises when PostgreSQL ends this transaction to break a deadlock."""
    return OperationalError(
        "SELECT pg_advisory_xact_lock(...)", {}, DeadlockDetected("deadlock detected")
    )


def test_a_text_that_meets_a_deadlock_is_taken_again_at_once(ctx, monkeypatch, caplog):
    receive = service.receive
    failures = [deadlock()]

    def deadlocked_once(msg):
        if failures:
            raise failures.pop()
        return receive(msg)

    monkeypatch.setattr(service, "receive", deadlocked_once)
    with db.engine.begin() as connection:
        accept_text(connection, "+15550100001", "Where is my parcel?")

    assert str(process_due()) == "intake stored 1, duplicates 0, retrying 0, failed 0"

    [item] = db.session.scalars(select(InboxItem)).all()
    assert (item.attempts, item.error) == (1, None)
    assert item.message_id is not None
    # A warning of one line, no traceback and no error.
    [warning] = [record for record in caplog.records if record.levelname != "INFO"]
    assert warning.levelname == "WARNING"
    assert "DeadlockDetected: deadlock detected; trying again" in warning.getMessage()
    assert warning.exc_info is None


@pytest.mark.postgresql
def test_a_text_whose_database_connection_is_lost_is_taken_again_at_once(ctx, monkeypatch):
    receive = service.receive
    lost = []

    def connection_lost_once(msg):
        if not lost:
            lost.append(msg)
            # As when the server restarts or a proxy drops the connection mid-batch.
            db.session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return receive(msg)

    monkeypatch.setattr(service, "receive", connection_lost_once)
    with db.engine.begin() as connection:
        accept_text(connection, "+15550100001", "Where is my parcel?")

    assert str(process_due()) == "intake stored 1, duplicates 0, retrying 0, failed 0"

    [item] = db.session.scalars(select(InboxItem)).all()
    assert (item.attempts, item.error, item.message_id is not None) == (1, None, True)


def test_mail_that_meets_deadlocks_is_stored_not_quarantined(
    ctx, dovecot, imap_folder, make_mailbox, monkeypatch
):
    take_email = mail_intake.take_email
    failures = [deadlock(), deadlock()]

    def deadlocked_twice(parsed, **options):
        if failures:
            raise failures.pop()
        return take_email(parsed, **options)

    monkeypatch.setattr(mail_intake, "take_email", deadlocked_twice)
    mailbox = make_mailbox()
    dovecot.append(imap_folder, mail(subject="Still waiting"))

    assert fetch_mailbox(mailbox, "test-worker").taken == {"stored": 1}
    assert db.session.scalars(select(Ticket.subject)).all() == ["Still waiting"]


class AcceptingAdapter:
    channel = Channel.EMAIL

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider_id=f"provider-{message.reference}")


def test_a_delivery_whose_record_meets_a_deadlock_is_recorded_at_once(
    app, ctx, make_user, inbound, monkeypatch
):
    registry = outbox.AdapterRegistry()
    registry.register(AcceptingAdapter())
    monkeypatch.setitem(app.extensions, "helpdesk.adapters", registry)
    ticket = service.receive(inbound()).ticket
    reply = service.reply(ticket, make_user(), "It is on its way.")
    db.session.commit()
    record = outbox.record
    failures = [deadlock()]

    def deadlocked_once(*args):
        if failures:
            raise failures.pop()
        return record(*args)

    monkeypatch.setattr(outbox, "record", deadlocked_once)

    assert str(outbox.run_due("worker")) == "sent 1, retrying 0, failed 0"

    db.session.expire_all()
    assert (reply.delivery_state, reply.lease_until) == (DeliveryState.SENT, None)
    assert [(a.outcome, a.finished_at is not None) for a in reply.attempts] == [("sent", True)]


@pytest.mark.postgresql
def test_a_text_waits_while_another_worker_holds_an_older_one_of_its_sender(ctx):
    with db.engine.begin() as connection:
        accept_text(connection, "+15550100001", "first")
        accept_text(connection, "+15550100002", "someone else")
        accept_text(connection, "+15550100001", "second")
    first, other, second = db.session.scalars(select(InboxItem).order_by(InboxItem.id)).all()
    db.session.rollback()
    # Another worker has claimed the first text and not yet taken it in.
    with db.engine.connect() as elsewhere, elsewhere.begin():
        elsewhere.execute(
            select(InboxItem.id).where(InboxItem.id == first.id).with_for_update()
        ).all()
        process_due()
        db.session.expire_all()
        assert (other.processed_at is not None, second.processed_at) == (True, None)
        assert (second.attempts, second.next_attempt_at <= utcnow()) == (0, True)

    process_due()

    db.session.expire_all()
    assert first.message_id < second.message_id
    texts = db.session.scalars(select(Message.text).order_by(Message.id)).all()
    assert texts == ["someone else", "first", "second"]


@pytest.mark.postgresql
def test_a_batch_holds_every_senders_intake_lock_until_it_commits(ctx, inbound):
    senders = [f"c{n}@customer.test" for n in range(5)]
    batch = [inbound("email", sender=sender) for sender in [*senders, senders[0]]]
    locked = "SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"

    def free_elsewhere(sender: str) -> bool:
        with db.engine.connect() as elsewhere, elsewhere.begin():
            return elsewhere.scalar(text(locked), {"key": f"intake email {sender}"})

    ticket_intake.serialise_intakes(batch)

    assert [free_elsewhere(sender) for sender in senders] == [False] * 5
    assert free_elsewhere("someone-else@customer.test")
    db.session.commit()
    assert [free_elsewhere(sender) for sender in senders] == [True] * 5
