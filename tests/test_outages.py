"""Outages survived: servers taken away mid-run and brought back, each a private one on a free
port. Every reply obeys DESIGN.md's delivery rule (sent once; at most the one duplicate it
allows, in the attempt log) and every inbound message is stored once."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from email import message_from_bytes
from functools import partial
from pathlib import Path

import pytest
import redis
import test_chat
import test_sms
from flask import Flask
from flask_migrate import upgrade
from mail_servers import SmtpSink, free_port, running_sink, sending_mailbox
from sqlalchemy import func, select

from channels.base import Channel, UncertainDelivery
from helpdesk import create_app
from helpdesk.chat import events as chat_events
from helpdesk.chat.hub import REDIS_CHANNEL, hub_of
from helpdesk.commands import worker
from helpdesk.extensions import db, limiter
from helpdesk.inbox import process_due
from helpdesk.models import DeliveryState, Direction, Message, Ticket, User
from helpdesk.outbox import run_due
from helpdesk.tickets import service

twilio_server, twilio = test_sms.twilio_server, test_sms.twilio
site, agent = test_chat.site, test_chat.agent


def attempt_log(message: Message) -> list[tuple[str | None, str | None]]:
    """Outcome and error code of every attempt, oldest first."""
    db.session.refresh(message)
    return [(attempt.outcome, attempt.error_code) for attempt in message.attempts]


def run_until_settled(start: datetime, rounds: int = 10) -> None:
    """Run the outbox at each next due time until nothing is left to send."""
    at = start
    for _ in range(rounds):
        run_due("w1", now=at)
        due = db.session.scalar(
            select(func.min(Message.next_attempt_at)).where(
                Message.direction == Direction.OUTBOUND,
                Message.delivery_state == DeliveryState.QUEUED,
            )
        )
        if due is None:
            return
        at = max(at, due) + timedelta(seconds=1)
    raise AssertionError("the outbox never settled")


def assert_delivery_rule(copies: list[tuple[Message, int]]) -> None:
    """DESIGN's delivery rule, given how many copies of each message the provider took: one,
    or two when the attempt log shows an attempt without a clear answer before the last."""
    for message, taken in copies:
        log = attempt_log(message)
        assert taken in (1, 2), log
        if taken == 2:
            assert (None, None) in log[:-1] or ("retry", UncertainDelivery.CODE) in log, log


@pytest.fixture
def queue_reply(ctx, make_user, inbound) -> Callable[..., Message]:
    """A customer writes in and an agent's reply is queued: ``queue_reply(channel, **inbound)``."""
    agent = make_user()

    def build(channel: Channel = Channel.EMAIL, text: str = "On its way.", **fields) -> Message:
        ticket = service.receive(inbound(channel, **fields)).ticket
        reply = service.reply(ticket, agent, text)
        db.session.commit()
        return reply

    return build


# --- SMTP ------------------------------------------------------------------------------------


def test_replies_queued_while_the_smtp_server_is_down_go_out_once_when_it_is_back(ctx, queue_reply):
    sink = SmtpSink("127.0.0.1", free_port())  # nothing listens on its port yet
    sending_mailbox(sink)
    replies = [queue_reply(sender=f"customer{n}@customer.test") for n in range(3)]
    start = max(reply.next_attempt_at for reply in replies)

    assert str(run_due("w1", now=start)) == "sent 0, retrying 3, failed 0"
    first_retry = max(reply.next_attempt_at for reply in replies)
    assert run_due("w1", now=start + timedelta(seconds=1)).total == 0  # backing off
    assert run_due("w1", now=first_retry + timedelta(seconds=1)).retrying == 3  # still down
    for reply in replies:
        assert reply.next_attempt_at - first_retry > timedelta(seconds=10)  # backing off more
        assert reply.delivery_state == DeliveryState.QUEUED
        assert "refused" in reply.error_text  # the ticket page says why it waits

    with running_sink(sink):
        run_until_settled(first_retry + timedelta(seconds=1))

    ids = [message_from_bytes(envelope.content)["Message-ID"] for envelope in sink.received]
    assert sorted(ids) == sorted(reply.external_id for reply in replies)  # each once
    for reply in replies:
        assert reply.delivery_state == DeliveryState.SENT
        assert attempt_log(reply) == [
            ("retry", "connection"),
            ("retry", "connection"),
            ("sent", None),
        ]


def test_a_server_that_hangs_up_before_answering_the_mail_causes_at_most_one_duplicate(
    ctx, smtp_sink, queue_reply
):
    sending_mailbox(smtp_sink)
    taken_once = queue_reply(sender="ada@customer.test")
    smtp_sink.fail_next("take and drop")  # took the mail; its "250" never came
    run_until_settled(taken_once.next_attempt_at)

    never_taken = queue_reply(sender="bob@customer.test")
    smtp_sink.fail_next("drop")  # hung up without taking it: the client cannot tell
    run_until_settled(never_taken.next_attempt_at)

    taken_twice = queue_reply(sender="cy@customer.test")
    smtp_sink.fail_next("take and drop", times=2)
    run_until_settled(taken_twice.next_attempt_at)

    copies = Counter(
        message_from_bytes(envelope.content)["Message-ID"] for envelope in smtp_sink.received
    )
    # A copy folds into the first in mail clients: it carries the same Message-ID.
    assert copies == {
        taken_once.external_id: 2,
        never_taken.external_id: 1,
        taken_twice.external_id: 2,
    }
    assert attempt_log(taken_once) == [("retry", "no-answer"), ("sent", None)]
    assert attempt_log(never_taken) == [("retry", "no-answer"), ("sent", None)]
    # A third try could make a second duplicate: the reply is left for a person to check.
    assert attempt_log(taken_twice) == [("retry", "no-answer"), ("failed", "no-answer")]
    assert taken_twice.delivery_state == DeliveryState.FAILED
    assert "may have taken it" in taken_twice.error_text
    assert_delivery_rule(
        [(reply, copies[reply.external_id]) for reply in (taken_once, never_taken, taken_twice)]
    )


# --- Twilio ----------------------------------------------------------------------------------


@pytest.fixture
def quick_timeout(app: Flask, twilio) -> float:
    """The SMS adapter gives up waiting for Twilio after half a second (30 s in production)."""
    adapter = app.extensions["helpdesk.adapters"].get(Channel.SMS)
    adapter.client.http_client.timeout = 0.5
    twilio.stall_seconds = 1.0
    return 0.5


def post_text(client, form: dict[str, str]) -> int:
    path = "/webhooks/twilio/sms"
    headers = {"X-Twilio-Signature": test_sms.signature(path, form)}
    return client.post(path, data=form, headers=headers).status_code


def test_texts_go_out_once_after_twilio_errors_and_timeouts_and_inbound_is_stored_once(
    ctx, client, twilio, quick_timeout, make_user
):
    customers = [f"+1555000300{n}" for n in range(3)]
    forms = [
        test_sms.sms_form(f"Where is order {n}?", From=number) for n, number in enumerate(customers)
    ]
    # Twilio posts again when our answer is slow or lost: each text arrives twice.
    assert [post_text(client, form) for form in forms + forms] == [200] * 6
    process_due()
    agent = make_user()
    tickets = {message.sender: message.ticket for message in inbound_texts()}
    # Each reply meets the outage in its own way: an error then a stall that took nothing; an
    # error then a stall after Twilio had taken the text; two such stalls in a row.
    outages = [("500", "stall"), ("500", "take and stall"), ("take and stall", "take and stall")]
    replies = []
    for n, (number, answers) in enumerate(zip(customers, outages, strict=True)):
        replies.append(service.reply(tickets[number], agent, f"Reply {n}"))
        db.session.commit()
        twilio.script(*answers)
        run_until_settled(replies[-1].next_attempt_at)
    assert post_text(client, forms[0]) == 200  # a late replay after intake changes nothing
    process_due()

    copies = Counter(resource["body"] for resource in twilio.created)
    assert copies == {"Reply 0": 1, "Reply 1": 2, "Reply 2": 2}
    assert attempt_log(replies[0]) == [("retry", "20500"), ("retry", "no-answer"), ("sent", None)]
    assert attempt_log(replies[1]) == [("retry", "20500"), ("retry", "no-answer"), ("sent", None)]
    assert attempt_log(replies[2]) == [("retry", "no-answer"), ("failed", "no-answer")]
    assert [reply.delivery_state for reply in replies] == [
        DeliveryState.SENT,
        DeliveryState.SENT,
        DeliveryState.FAILED,
    ]
    assert_delivery_rule([(reply, copies[reply.text]) for reply in replies])
    assert sorted(message.text for message in inbound_texts()) == [
        f"Where is order {n}?" for n in range(3)
    ]


def inbound_texts() -> list[Message]:
    db.session.expire_all()
    return list(db.session.scalars(select(Message).where(Message.direction == Direction.INBOUND)))


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.fixture
def pg_app(private_postgres, twilio_server, tmp_path) -> Iterator[Flask]:
    """An app on the private PostgreSQL, migrated, texting through the Twilio stand-in."""
    twilio_server.reset()
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": private_postgres.url,
            "HELPDESK_STORAGE_DIR": str(tmp_path / "storage"),
            "HELPDESK_PUBLIC_URL": test_sms.PUBLIC_URL,
            "TWILIO_ACCOUNT_SID": test_sms.ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": test_sms.AUTH_TOKEN,
            "TWILIO_API_URL": twilio_server.url,
        }
    )
    with app.app_context():
        upgrade()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


@contextmanager
def worker_process(app: Flask, log: Path) -> Iterator[multiprocessing.Process]:
    """The ``helpdesk worker`` command in a process of its own, forked so that it is a real
    process without the seconds of start-up; stopped with SIGTERM afterwards."""
    process = multiprocessing.get_context("fork").Process(target=_run_worker, args=(app, log))
    process.start()
    try:
        yield process
    finally:
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
        process.join(20)
        if process.is_alive():
            process.kill()
            process.join()


def _run_worker(app: Flask, log: Path) -> None:
    with log.open("w") as output:
        os.dup2(output.fileno(), sys.stdout.fileno())
        os.dup2(output.fileno(), sys.stderr.fileno())
        with app.app_context():
            db.engine.dispose(close=False)  # the parent's connections stay the parent's
            try:
                worker.command.main(["--interval", "0.2"], standalone_mode=False)
                status = 0
            except BaseException:
                traceback.print_exc()
                status = 1
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(status)


def wait_until(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def count(statement) -> int:
    db.session.rollback()  # a fresh look, on a live connection
    return db.session.scalar(statement)


INBOUND = select(func.count(Message.id)).where(Message.direction == Direction.INBOUND)
SENT = select(func.count(Message.id)).where(
    Message.direction == Direction.OUTBOUND, Message.delivery_state != DeliveryState.QUEUED
)


@pytest.mark.postgresql
def test_a_worker_lives_through_a_postgresql_restart_and_nothing_goes_twice(
    pg_app, private_postgres, twilio_server, tmp_path
):
    client = pg_app.test_client()
    first = [test_sms.sms_form(f"First {n}", From=f"+1555000400{n}") for n in range(5)]
    later = [test_sms.sms_form(f"Later {n}", From=f"+1555000400{n}") for n in range(5)]
    log = tmp_path / "worker.log"
    with pg_app.app_context(), worker_process(pg_app, log) as process:
        agent = User(email="agent@helpdesk.test", name="Agent", role="agent")
        agent.set_password("correct horse battery")
        db.session.add(agent)
        db.session.commit()
        assert [post_text(client, form) for form in first] == [200] * 5
        wait_until(lambda: count(INBOUND) == 5, 30, "the worker took the first texts in")
        # The first reply is taken by Twilio but answered slowly: the database goes away
        # while the worker waits for that answer, with the rest of its batch still to send.
        twilio_server.stall_seconds = 1.0
        twilio_server.script("take and stall")
        queue_replies(agent, "First reply")
        wait_until(lambda: twilio_server.created, 10, "the worker sent the first reply")
        private_postgres.stop()
        wait_until(
            lambda: "recording a delivery" in log.read_text(),
            10,
            "Twilio's answer found the database gone",
        )
        private_postgres.start()

        assert [post_text(client, form) for form in first + later] == [200] * 10
        wait_until(lambda: count(INBOUND) == 10, 20, "the worker took the later texts in")
        queue_replies(agent, "Later reply")
        wait_until(lambda: count(SENT) == 10, 20, "every reply was sent")
        assert process.is_alive(), log.read_text()

    assert process.exitcode == 0, log.read_text()
    with pg_app.app_context():
        replies = db.session.scalars(
            select(Message).where(Message.direction == Direction.OUTBOUND).order_by(Message.id)
        ).all()
        copies = Counter(resource["body"] for resource in twilio_server.created)
        assert sorted(copies) == sorted(reply.text for reply in replies)
        assert_delivery_rule([(reply, copies[reply.text]) for reply in replies])
        assert all(reply.delivery_state == DeliveryState.SENT for reply in replies)
        inbound = db.session.scalars(
            select(Message.text).where(Message.direction == Direction.INBOUND)
        )
        assert sorted(inbound) == sorted(form["Body"] for form in first + later)


def queue_replies(agent: User, text: str) -> None:
    """An agent answers every open SMS ticket; commits."""
    tickets = db.session.scalars(select(Ticket).order_by(Ticket.id)).all()
    for ticket in tickets:
        service.reply(ticket, agent, f"{text} to {ticket.customer_id}")
    db.session.commit()


# --- Redis -----------------------------------------------------------------------------------


@pytest.fixture
def web_processes(app: Flask, private_redis) -> Iterator[tuple[Flask, Flask]]:
    """Two apps sharing the database and the private Redis, as two web processes would."""
    settings = {
        **{key: app.config[key] for key in ("SQLALCHEMY_DATABASE_URI", "HELPDESK_STORAGE_DIR")},
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "REDIS_URL": private_redis.url,
        "RATELIMIT_STORAGE_URI": private_redis.url,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR": "3 per hour",
    }
    processes = create_app(settings), create_app(settings)
    yield processes
    for process in processes:
        with process.app_context():
            db.engine.dispose()
    limiter.init_app(app)  # the limiter is one object: give it back to the suite's app


def woken(reader: Flask, keys: list[str], act: Callable[[], object], seconds: float = 5) -> bool:
    """Whether a stream of ``reader`` following ``keys`` is woken after ``act`` runs."""
    waiter = hub_of(reader).register(keys)
    try:
        act()
        return waiter.wait(seconds)
    finally:
        hub_of(reader).unregister(waiter)


def test_chat_goes_on_while_redis_is_down_and_fan_out_resumes_when_it_is_back(
    ctx, site, agent, make_user, make_token, web_processes, private_redis
):
    writer, reader = web_processes
    widget = test_chat.Widget(writer.test_client(), site["key"])
    assert widget.start(name="Eve").status_code == 201
    assert widget.send("before the outage").status_code == 201
    ticket_id = test_chat.chat_ticket(ctx).id
    ticket_key = chat_events.ticket_key(ticket_id)
    assert woken(reader, [ticket_key], lambda: widget.send("Redis is there"))
    token = make_token(make_user())

    private_redis.stop()
    time.sleep(0.5)  # the reader notices and polls the database instead
    # Rate limits hold, counted in each process instead of Redis: never a server error.
    api = writer.test_client().get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
    assert widget.send("during the outage").status_code == 201
    assert woken(reader, [ticket_key], lambda: widget.send("still real time"))
    with writer.app_context():
        assert woken(reader, [ticket_key], partial(agent_reply, ticket_id, agent, "On it"))
    other = test_chat.Widget(writer.test_client(), site["key"])
    assert other.start(name="Zed").status_code == 201
    assert [other.send(f"spam {n}").status_code for n in range(4)] == [201, 201, 201, 429]

    private_redis.start()
    probe = f"probe-{uuid.uuid4().hex}"
    # Only Redis can carry a wake-up that no database event stands behind.
    assert woken(reader, [probe], lambda: publish_until_heard(private_redis.url, probe), 15)
    assert woken(reader, [ticket_key], lambda: widget.send("Redis is back"))

    texts = [event["text"] for event in widget.stream() if event.get("type") == "message"]
    assert texts == [
        "before the outage",
        "Redis is there",
        "during the outage",
        "still real time",
        "On it",
        "Redis is back",
    ]


def agent_reply(ticket_id: int, agent_id: int, text: str) -> None:
    service.reply(db.session.get(Ticket, ticket_id), db.session.get(User, agent_id), text)
    db.session.commit()


def publish_until_heard(url: str, key: str, seconds: float = 15) -> None:
    """Publish a wake-up for ``key`` until some listener is subscribed to hear it."""
    client = redis.Redis.from_url(url)
    deadline = time.monotonic() + seconds
    while client.publish(REDIS_CHANNEL, json.dumps([key])) == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
