"""The worker sends queued replies exactly once, retries with backoff and logs every attempt."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from channels.base import (
    Channel,
    InboundAttachment,
    OutboundMessage,
    PermanentFailure,
    SendResult,
    TemporaryFailure,
)
from helpdesk import outbox
from helpdesk.commands.worker import PeriodicJob, run_once, serve
from helpdesk.extensions import db
from helpdesk.models import DeliveryState, Message, utcnow
from helpdesk.outbox import AdapterRegistry, run_due
from helpdesk.tickets import service


class ScriptedAdapter:
    """Records what it is asked to send and answers from a script, then with ``then``.

    Answers: "ok", "delivered", "temporary", "permanent", "crash" (an unexpected error).
    """

    def __init__(self, channel: Channel, *answers: str, then: str = "ok", pause: float = 0):
        self.channel = channel
        self.sent: list[OutboundMessage] = []
        self.on_send: Callable[[], None] = lambda: None
        self._answers = list(answers)
        self._then = then
        self._pause = pause
        self._lock = threading.Lock()

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.sent.append(message)
            answer = self._answers.pop(0) if self._answers else self._then
            provider_id = f"{self.channel.value}-provider-{len(self.sent)}"
        time.sleep(self._pause)
        self.on_send()
        if answer == "temporary":
            raise TemporaryFailure("421", "mailbox busy, try later")
        if answer == "permanent":
            raise PermanentFailure("550", "no such user")
        if answer == "crash":
            raise RuntimeError("adapter bug")
        return SendResult(provider_id=provider_id, delivered=answer == "delivered")


@pytest.fixture
def adapters(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Callable[..., ScriptedAdapter]:
    """Register a scripted adapter on a registry of this test's own: ``adapters(channel, ...)``."""
    registry = AdapterRegistry()
    monkeypatch.setitem(app.extensions, "helpdesk.adapters", registry)

    def register(channel: Channel = Channel.EMAIL, *answers: str, **options) -> ScriptedAdapter:
        adapter = ScriptedAdapter(channel, *answers, **options)
        registry.register(adapter)
        return adapter

    return register


@pytest.fixture
def queue_reply(ctx, make_user, inbound) -> Callable[..., Message]:
    """Receive a customer message and queue an agent's reply to it; commits."""
    agent = make_user()

    def build(channel: Channel = Channel.EMAIL, at=None, **fields) -> Message:
        ticket = service.receive(inbound(channel, **fields)).ticket
        reply = service.reply(ticket, agent, "Thanks, it is on its way.", at=at)
        db.session.commit()
        return reply

    return build


def outcomes(message: Message) -> list[tuple[str, str | None, bool]]:
    """The attempt log of a message: worker, outcome, finished or not."""
    return [(a.worker, a.outcome, a.finished_at is not None) for a in message.attempts]


def test_queued_email_reply_is_sent_once_and_threaded(queue_reply, adapters, inbound):
    adapter = adapters(Channel.EMAIL)
    reply = queue_reply(external_id="<first@customer.test>", sender="ada@customer.test")

    summary = run_due("w1")

    assert str(summary) == "sent 1, retrying 0, failed 0"
    [sent] = adapter.sent
    assert sent.to == "ada@customer.test"
    assert sent.endpoint == "support@shop.test"
    assert sent.message_id == reply.external_id  # our own Message-ID, kept across retries
    assert sent.in_reply_to == "<first@customer.test>"
    assert sent.references == ("<first@customer.test>",)
    assert sent.subject == f"Re: Help with my order [#{reply.ticket.number}]"
    assert reply.delivery_state == DeliveryState.SENT
    assert reply.lease_until is None
    [attempt] = reply.attempts
    assert (attempt.worker, attempt.outcome, attempt.provider_id) == (
        "w1",
        "sent",
        "email-provider-1",
    )
    assert attempt.finished_at is not None
    assert run_due("w1").total == 0
    assert len(adapter.sent) == 1


def test_sms_reply_keeps_the_provider_id_and_synchronous_delivery(queue_reply, adapters):
    adapter = adapters(Channel.SMS, "delivered")
    reply = queue_reply(Channel.SMS)

    run_due("w1")

    assert adapter.sent[0].to == "+15550002000"
    assert adapter.sent[0].message_id is None
    assert reply.delivery_state == DeliveryState.DELIVERED
    assert reply.external_id == "sms-provider-1"  # status callbacks find the message by it


def test_reply_with_attachment_sends_the_stored_bytes(ctx, adapters, make_user, inbound):
    adapter = adapters(Channel.EMAIL)
    ticket = service.receive(inbound()).ticket
    service.reply(
        ticket,
        make_user(),
        "Invoice attached.",
        attachments=[InboundAttachment("invoice.pdf", "application/pdf", b"%PDF-1.7")],
    )
    db.session.commit()

    run_due("w1")

    [attachment] = adapter.sent[0].attachments
    assert (attachment.filename, attachment.content_type, attachment.data) == (
        "invoice.pdf",
        "application/pdf",
        b"%PDF-1.7",
    )


def test_temporary_failure_backs_off_and_is_retried_when_due(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL, "temporary")
    reply = queue_reply()
    start = utcnow()

    assert str(run_due("w1", now=start)) == "sent 0, retrying 1, failed 0"
    assert reply.delivery_state == DeliveryState.QUEUED
    assert reply.attempt_count == 1
    assert (reply.error_code, reply.error_text) == ("421", "mailbox busy, try later")
    assert reply.next_attempt_at > start
    assert reply.lease_until is None

    assert run_due("w1", now=start + timedelta(seconds=1)).total == 0
    assert len(adapter.sent) == 1

    assert run_due("w1", now=reply.next_attempt_at).sent == 1
    assert reply.delivery_state == DeliveryState.SENT
    assert (reply.error_code, reply.error_text) == (None, None)
    assert outcomes(reply) == [("w1", "retry", True), ("w1", "sent", True)]
    attempt = reply.attempts[0]
    assert (attempt.error_code, attempt.error_text) == ("421", "mailbox busy, try later")


def test_backoff_doubles_from_about_thirty_seconds_up_to_an_hour():
    for attempts, ceiling in [(1, 30), (2, 60), (3, 120), (8, 3600), (50, 3600)]:
        delay = outbox.retry_delay(attempts).total_seconds()
        assert ceiling / 2 <= delay <= ceiling


def test_temporary_failures_end_in_failed_after_the_attempt_limit(
    app, queue_reply, adapters, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_MAX_SEND_ATTEMPTS", 3)
    adapter = adapters(Channel.EMAIL, then="temporary")
    reply = queue_reply()
    at = utcnow()

    summaries = []
    for _ in range(4):
        summaries.append(str(run_due("w1", now=at)))
        at += outbox.RETRY_CAP

    assert summaries == [
        "sent 0, retrying 1, failed 0",
        "sent 0, retrying 1, failed 0",
        "sent 0, retrying 0, failed 1",
        "sent 0, retrying 0, failed 0",
    ]
    assert len(adapter.sent) == 3
    assert reply.delivery_state == DeliveryState.FAILED
    assert reply.error_code == "421"
    assert [outcome for _, outcome, _ in outcomes(reply)] == ["retry", "retry", "failed"]


def test_permanent_failure_is_kept_and_never_retried(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL, "permanent")
    reply = queue_reply()

    assert str(run_due("w1")) == "sent 0, retrying 0, failed 1"
    assert run_due("w1", now=utcnow() + timedelta(days=1)).total == 0

    assert len(adapter.sent) == 1
    assert reply.delivery_state == DeliveryState.FAILED
    assert (reply.error_code, reply.error_text) == ("550", "no such user")
    assert outcomes(reply) == [("w1", "failed", True)]


def test_unexpected_adapter_error_counts_as_temporary(queue_reply, adapters):
    adapters(Channel.EMAIL, "crash")
    reply = queue_reply()

    assert run_due("w1").retrying == 1
    assert reply.delivery_state == DeliveryState.QUEUED
    assert (reply.error_code, reply.error_text) == ("RuntimeError", "adapter bug")


def test_message_without_recipient_fails_without_calling_the_adapter(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL)
    reply = queue_reply()
    reply.recipient = None
    db.session.commit()

    assert run_due("w1").failed == 1
    assert adapter.sent == []
    assert reply.error_code == "no-recipient"


def test_channel_without_adapter_stays_queued_untouched(queue_reply, adapters):
    email = adapters(Channel.EMAIL)
    reply = queue_reply(Channel.SMS)

    assert run_due("w1").total == 0

    assert email.sent == []
    assert reply.delivery_state == DeliveryState.QUEUED
    assert (reply.attempt_count, reply.lease_until, reply.attempts) == (0, None, [])


def test_message_not_yet_due_waits(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL)
    now = utcnow()
    reply = queue_reply(at=now + timedelta(minutes=10))

    assert run_due("w1", now=now).total == 0
    assert adapter.sent == []
    assert run_due("w1", now=now + timedelta(minutes=10)).sent == 1
    assert reply.delivery_state == DeliveryState.SENT


def test_worker_that_died_after_sending_causes_one_logged_duplicate(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL)
    reply = queue_reply()
    start = utcnow()
    [claim] = outbox.claim_due("crashed", now=start)
    outbox.send(claim)  # the provider accepted it, then the process died before recording

    assert run_due("w2", now=start + outbox.LEASE - timedelta(seconds=1)).total == 0
    assert run_due("w2", now=start + outbox.LEASE).sent == 1

    first, second = adapter.sent
    assert first.message_id == second.message_id == reply.external_id  # mail clients fold it
    assert reply.delivery_state == DeliveryState.SENT
    assert outcomes(reply) == [("crashed", None, False), ("w2", "sent", True)]
    assert run_due("w2", now=start + 2 * outbox.LEASE).total == 0


def test_late_answer_after_losing_the_lease_does_not_requeue(queue_reply, adapters):
    adapters(Channel.EMAIL)
    reply = queue_reply()
    start = utcnow()
    [slow] = outbox.claim_due("slow", now=start)
    run_due("fast", now=start + outbox.LEASE)

    outbox.record(slow, TemporaryFailure("timeout", "no answer"), now=start + 2 * outbox.LEASE)

    assert reply.delivery_state == DeliveryState.SENT
    assert outcomes(reply) == [("slow", "retry", True), ("fast", "sent", True)]


def test_stopping_worker_finishes_the_current_message_and_releases_the_rest(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL)
    replies = [queue_reply() for _ in range(3)]

    summary = run_due("w1", should_stop=lambda: len(adapter.sent) >= 1)

    assert summary.sent == 1
    assert [r.delivery_state for r in replies] == [DeliveryState.SENT] + [DeliveryState.QUEUED] * 2
    assert [(r.lease_until, r.attempt_count, len(r.attempts)) for r in replies[1:]] == [
        (None, 0, 0),
        (None, 0, 0),
    ]
    assert run_due("w2").sent == 2


def test_serve_runs_until_stopped(queue_reply, adapters):
    adapter = adapters(Channel.EMAIL)
    reply = queue_reply()
    stop = threading.Event()
    adapter.on_send = stop.set  # as if SIGTERM arrived during the send

    serve("w1", interval=0.1, stop=stop)

    assert reply.delivery_state == DeliveryState.SENT


def test_once_runs_the_periodic_jobs(ctx, adapters):
    runs = []
    job = PeriodicJob("tick", interval=60, run=lambda: runs.append("tick"))

    run_once("w1", jobs=(job,))

    assert runs == ["tick"]


def test_worker_once_command_prints_a_summary(runner, queue_reply, adapters):
    adapters(Channel.EMAIL, "ok", "permanent")
    sent, failed = queue_reply(), queue_reply()

    result = runner.invoke(args=["worker", "--once", "--name", "cli-worker"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "sent 1, retrying 0, failed 1"
    assert (sent.delivery_state, failed.delivery_state) == (
        DeliveryState.SENT,
        DeliveryState.FAILED,
    )
    assert outcomes(sent) == [("cli-worker", "sent", True)]


# SQLite runs one worker by design; concurrent claiming is a PostgreSQL matter.
@pytest.mark.postgresql
def test_two_workers_send_every_message_exactly_once(app, ctx, make_user, inbound, adapters):
    adapter = adapters(Channel.EMAIL, pause=0.002)
    agent = make_user()
    for n in range(40):
        ticket = service.receive(inbound(sender=f"customer{n}@customer.test")).ticket
        for _ in range(5):
            service.reply(ticket, agent, f"Reply to customer {n}")
    db.session.commit()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def work(name: str) -> None:
        with app.app_context():
            try:
                start.wait()
                while run_due(name).total:
                    pass
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    workers = [threading.Thread(target=work, args=(f"w{i}",)) for i in (1, 2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    per_message = Counter(sent.message_id for sent in adapter.sent)
    assert len(per_message) == 200
    assert set(per_message.values()) == {1}
    states = db.session.scalars(
        select(Message.delivery_state).where(Message.author_id.is_not(None))
    )
    assert Counter(states) == {DeliveryState.SENT: 200}
