"""Outages survived: servers taken away mid-run and brought back, each a private one on a free
port. Every reply obeys DESIGN.md's delivery rule (sent once; at most the one duplicate it
allows, in the attempt log) and every inbound message is stored once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest
import test_sms
from flask import Flask
from flask_migrate import upgrade
from mail_servers import SmtpSink, free_port, running_sink, sending_mailbox
from sqlalchemy import func, select

from channels.base import Channel, UncertainDelivery
from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.inbox import process_due
from helpdesk.models import DeliveryState, Direction, Message, User
from helpdesk.outbox import run_due
from helpdesk.tickets import service

twilio_server, twilio = test_sms.twilio_server, test_sms.twilio
ROOT = Path(__file__).resolve().parent.parent


def attempt_log(message: Message) -> list[tuple[str | None, str | None]]:
    """Outcome and error code of every attempt, oldest first."""
    db.session.refresh(message)
    return [(attempt.outcome, attempt.error_code) for attempt in message.attempts]


def run_until_settled(start: datetime, rounds: int = 10) -> datetime:
    """Run the outbox at each next due time until nothing is left to send; the last time."""
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
            return at
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
