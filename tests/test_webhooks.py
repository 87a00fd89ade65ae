"""Outgoing webhooks, sent to a real HTTP receiver that checks every signature."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from webhook_receiver import Receiver, deliveries

from helpdesk.extensions import db
from helpdesk.models import (
    Ticket,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookState,
    utcnow,
)
from helpdesk.tickets import service
from helpdesk.webhooks import endpoints
from helpdesk.webhooks.delivery import deliver_due, retry_delay
from helpdesk.webhooks.targets import UnsafeTarget, check_url

WORKER = "test-worker"


pytestmark = pytest.mark.usefixtures("private_targets")


def _raise_priority(ticket_id: int, priority: str) -> None:
    service.set_priority(db.session.get(Ticket, ticket_id), None, priority)
    db.session.commit()


def test_every_event_arrives_signed_in_order(ctx, receiver, subscribed, open_ticket):
    endpoint_id = subscribed(receiver)
    ticket_id = open_ticket(text="My parcel never came.")
    _raise_priority(ticket_id, "high")
    _raise_priority(ticket_id, "urgent")

    assert deliver_due(WORKER) == 4

    got = receiver.accepted()
    assert [r.payload["type"] for r in got] == [
        "ticket.created",
        "message.created",
        "ticket.updated",
        "ticket.updated",
    ]
    assert all(r.msg_id == r.payload["id"] for r in got)
    assert got[1].payload["data"]["message"]["direction"] == "inbound"
    assert got[1].payload["data"]["message"]["text"] == "My parcel never came."
    assert got[2].payload["data"]["changes"] == {"priority": {"before": "normal", "after": "high"}}
    assert got[3].payload["data"]["ticket"]["priority"] == "urgent"
    assert {d.state for d in deliveries(endpoint_id)} == {WebhookState.DELIVERED}


def test_a_rolled_back_change_sends_nothing_and_unsubscribed_events_are_not_queued(
    ctx, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver, ("ticket.updated",))
    ticket_id = open_ticket()
    service.set_priority(db.session.get(Ticket, ticket_id), None, "high")
    db.session.rollback()

    assert deliveries(endpoint_id) == []
    _raise_priority(ticket_id, "low")
    assert [d.event_type for d in deliveries(endpoint_id)] == ["ticket.updated"]


def test_a_receiver_down_then_up_gets_every_event_once_in_order(
    ctx, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver)
    receiver.down()
    first = open_ticket()
    _raise_priority(first, "high")
    now = utcnow()

    assert deliver_due(WORKER, now) == 0
    waiting = deliveries(endpoint_id)
    # Only the ticket's first event was tried: the later ones wait behind it.
    assert [d.attempts for d in waiting] == [1, 0, 0]
    assert waiting[0].next_attempt_at == now + timedelta(seconds=10)
    assert waiting[0].last_status is None and "Connection" in waiting[0].last_response

    _raise_priority(first, "urgent")
    receiver.up()
    assert deliver_due(WORKER, now + timedelta(seconds=5)) == 0
    assert deliver_due(WORKER, now + timedelta(seconds=11)) == 4

    got = receiver.accepted()
    assert [r.msg_id for r in got] == [d.event_id for d in deliveries(endpoint_id)]
    assert [r.payload["data"].get("changes", {}).get("priority", {}).get("after") for r in got][
        2:
    ] == ["high", "urgent"]


def test_a_redelivered_event_comes_again_with_the_same_id(ctx, receiver, subscribed, open_ticket):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    open_ticket()
    deliver_due(WORKER)
    delivery = deliveries(endpoint_id)[0]

    endpoints.redeliver(delivery)
    db.session.commit()
    deliver_due(WORKER)

    ids = [r.msg_id for r in receiver.accepted()]
    assert ids == [delivery.event_id, delivery.event_id]
    assert db.session.scalar(select(db.func.count(WebhookAttempt.id))) == 2


def test_retries_back_off_from_10_seconds_doubling_to_an_hour():
    waits = [retry_delay(n).total_seconds() for n in range(1, 12)]
    assert waits == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]


def test_after_24_hours_of_failures_the_endpoint_pauses_and_says_why(
    ctx, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    receiver.fail = True
    open_ticket()
    start = now = utcnow()
    while now - start < timedelta(hours=25):
        deliver_due(WORKER, now)
        delivery = deliveries(endpoint_id)[0]
        if delivery.state != WebhookState.PENDING:
            break
        now = delivery.next_attempt_at

    # Tries at 0, 10, 30, … 5,110 s (10 of them), then hourly: 5,110 + 23 × 3,600 = 87,910 s is
    # the first try at or past 24 h (86,400 s), and it fails the event.
    assert delivery.state == WebhookState.FAILED
    assert delivery.attempts == 10 + 23
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert endpoint.paused_at is not None
    assert "failed for 24 hours; last answer: HTTP 503" in endpoint.pause_reason

    # Paused, new events queue but wait; resumed, they go.
    receiver.fail = False
    open_ticket()
    assert deliver_due(WORKER) == 0
    endpoints.resume(endpoint)
    db.session.commit()
    assert deliver_due(WORKER) == 1


def test_a_slow_endpoint_never_delays_another(ctx, subscribed, open_ticket):
    slow, quick = Receiver(delay=1.0), Receiver()
    slow.up(), quick.up()
    try:
        subscribed(slow, ("ticket.created",))
        subscribed(quick, ("ticket.created",))
        for n in range(3):
            open_ticket(sender=f"customer{n}@customer.test")
        started = time.monotonic()
        assert deliver_due(WORKER) == 6
        assert len(quick.accepted()) == 3
        assert max(r.at for r in quick.accepted()) - started < 0.8
        assert min(r.at for r in slow.accepted()) - started >= 1.0
    finally:
        slow.down(), quick.down()


def test_during_a_rotation_both_secrets_sign(ctx, receiver, subscribed, open_ticket):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    old = receiver.secrets[0]
    new = endpoints.rotate_secret(db.session.get(WebhookEndpoint, endpoint_id))
    db.session.commit()

    receiver.secrets = [new]
    open_ticket()
    deliver_due(WORKER)
    receiver.secrets = [old]
    endpoints.redeliver(deliveries(endpoint_id)[0])
    db.session.commit()
    deliver_due(WORKER)
    assert len(receiver.accepted()) == 2

    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    endpoint.previous_secret_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    endpoints.redeliver(deliveries(endpoint_id)[0])
    db.session.commit()
    deliver_due(WORKER)
    assert len(receiver.accepted()) == 2  # the old secret no longer signs


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.0.5/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://0.0.0.0/hook",
        "https://localhost/hook",
        "ftp://example.com/hook",
    ],
)
def test_private_and_plain_http_targets_are_refused(url):
    with pytest.raises(UnsafeTarget):
        check_url(url, allow_private=False)


def test_a_public_https_target_is_accepted():
    check_url("https://93.184.215.14/hook", allow_private=False)


def test_a_target_turned_private_is_refused_at_delivery(
    app, ctx, receiver, subscribed, open_ticket, monkeypatch
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", False)
    open_ticket()
    deliver_due(WORKER)

    assert receiver.received == []
    delivery = deliveries(endpoint_id)[0]
    assert delivery.state == WebhookState.PENDING
    assert delivery.last_response.startswith("refused: ")


def test_erasing_a_customer_forgets_their_webhook_events(ctx, receiver, subscribed, open_ticket):
    from helpdesk.privacy.erasure import erase_customer

    endpoint_id = subscribed(receiver)
    ticket_id = open_ticket(sender="erin@customer.test")
    deliver_due(WORKER)
    customer = db.session.get(Ticket, ticket_id).customer

    erasure = erase_customer(customer)
    db.session.commit()

    assert erasure.webhook_payloads_removed == 2
    left = deliveries(endpoint_id)
    assert [d.event_type for d in left] == ["customer.erased"]
    assert left[0].payload["data"] == {"customer_id": customer.id}
    assert "erin" not in str(left[0].payload)


def test_an_admin_subscribes_on_the_page_and_sees_the_secret_once(client, ctx, login, receiver):
    from helpdesk.models import Role

    login(Role.ADMIN)
    page = client.post(
        "/admin/webhooks", data={"url": receiver.url, "events": ["ticket.created", "ticket.split"]}
    )
    assert page.status_code == 200
    endpoint = db.session.scalars(select(WebhookEndpoint)).one()
    assert endpoint.secret in page.text
    assert endpoint.events == ["ticket.created", "ticket.split"]
    assert endpoint.secret not in client.get("/admin/webhooks").text
    assert endpoint.secret not in client.get(f"/admin/webhooks/{endpoint.id}").text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"url": "", "events": ["ticket.created"]}, "Where should events be sent?"),
        ({"url": "https://example.com/hook"}, "Choose at least one event."),
        ({"url": "ftp://example.com/x", "events": ["ticket.created"]}, "full https:// URL"),
    ],
)
def test_a_bad_subscription_is_refused_next_to_its_field(client, ctx, login, data, message):
    from helpdesk.models import Role

    login(Role.ADMIN)
    page = client.post("/admin/webhooks", data=data)
    assert page.status_code == 400
    assert message in page.text
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def test_the_delivery_log_shows_attempts_and_redelivers(
    client, ctx, login, receiver, subscribed, open_ticket
):
    from helpdesk.models import Role

    endpoint_id = subscribed(receiver, ("ticket.created",))
    receiver.fail = True
    open_ticket()
    deliver_due(WORKER)
    login(Role.ADMIN)
    page = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "503" in page and "ticket.created" in page and "next try" in page

    receiver.fail = False
    delivery = deliveries(endpoint_id)[0]
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    deliver_due(WORKER)
    answer = client.post(f"/admin/webhooks/{endpoint_id}/deliveries/{delivery.id}/redeliver")
    assert answer.status_code == 302
    deliver_due(WORKER)
    assert [r.msg_id for r in receiver.accepted()] == [delivery.event_id] * 2

    page = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert page.count('class="attempt"') == 3


def test_an_admin_pauses_resumes_rotates_and_deletes(client, ctx, login, receiver, subscribed):
    from helpdesk.models import AuditEvent, Role

    endpoint_id = subscribed(receiver, ("ticket.created",))
    login(Role.ADMIN)
    client.post(f"/admin/webhooks/{endpoint_id}/pause")
    page = client.get(f"/admin/webhooks/{endpoint_id}").text
    assert "Paused by an admin." in page
    client.post(f"/admin/webhooks/{endpoint_id}/resume")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id).paused_at is None

    rotated = client.post(f"/admin/webhooks/{endpoint_id}/rotate")
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert endpoint.secret in rotated.text and endpoint.previous_secret == receiver.secrets[0]

    client.post(f"/admin/webhooks/{endpoint_id}", data={"events": ["survey.answered"]})
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint_id).events == ["survey.answered"]

    assert client.post(f"/admin/webhooks/{endpoint_id}/delete").status_code == 302
    assert client.get(f"/admin/webhooks/{endpoint_id}").status_code == 404
    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-5:] == [
        "webhook.paused",
        "webhook.resumed",
        "webhook.secret_rotated",
        "webhook.changed",
        "webhook.deleted",
    ]


def test_agents_cannot_open_the_webhook_pages(client, ctx, login):
    login()
    assert client.get("/admin/webhooks").status_code == 403


def test_a_merge_sends_ticket_merged_about_the_merged_ticket(
    ctx, receiver, subscribed, open_ticket
):
    subscribed(receiver, ("ticket.merged", "ticket.updated"))
    source_id = open_ticket(subject="Where is my parcel?")
    target_id = open_ticket(subject="Parcel again")
    source, target = db.session.get(Ticket, source_id), db.session.get(Ticket, target_id)
    service.merge(source, target, None)
    db.session.commit()

    deliver_due(WORKER)
    merged = [r.payload for r in receiver.accepted() if r.payload["type"] == "ticket.merged"]
    assert len(merged) == 1
    assert merged[0]["data"]["ticket"]["id"] == source_id
    assert merged[0]["data"]["ticket"]["merged_into"] == target_id
    assert merged[0]["data"]["into"] == f"#{target.number}"


def test_the_worker_job_sends_without_waiting_for_the_receiver(ctx, subscribed, open_ticket):
    from helpdesk.webhooks.delivery import Dispatcher

    slow = Receiver(delay=1.0)
    slow.up()
    try:
        subscribed(slow, ("ticket.created",))
        open_ticket()
        dispatcher = Dispatcher(WORKER)
        started = time.monotonic()
        dispatcher.run()
        assert time.monotonic() - started < 0.8  # the worker's loop goes on meanwhile
        dispatcher.pool.shutdown(wait=True)
        assert len(slow.accepted()) == 1
    finally:
        slow.down()


def test_replies_notes_and_delivery_reports_are_sent_with_their_direction(
    ctx, receiver, subscribed, open_ticket, make_user
):
    from helpdesk.models import DeliveryState

    subscribed(receiver, ("message.created", "message.delivery"))
    ticket = db.session.get(Ticket, open_ticket())
    agent = make_user()
    reply = service.reply(ticket, agent, "Your parcel left today.")
    service.add_note(ticket, agent, "Checked with the warehouse.")
    db.session.commit()
    reply.delivery_state = DeliveryState.DELIVERED
    db.session.commit()

    deliver_due(WORKER)
    got = [(r.payload["type"], r.payload["data"]["message"]) for r in receiver.accepted()]
    assert [(kind, m["direction"]) for kind, m in got] == [
        ("message.created", "inbound"),
        ("message.created", "outbound"),
        ("message.created", "note"),
        ("message.delivery", "outbound"),
    ]
    assert got[3][1]["delivery_state"] == "delivered"


def test_a_survey_answer_is_sent_with_its_score_and_comment(
    app, ctx, receiver, subscribed, open_ticket, make_user
):
    from helpdesk.models import Survey

    subscribed(receiver, ("survey.answered",))
    ticket = db.session.get(Ticket, open_ticket(text="Broken lamp"))
    app.config["HELPDESK_CSAT"] = True
    try:
        service.set_status(ticket, make_user(), "solved")  # asks the question
        db.session.commit()
    finally:
        app.config["HELPDESK_CSAT"] = False
    survey = db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    service.answer_survey(survey, "4", "Quick, thanks")
    db.session.commit()

    assert deliver_due(WORKER) == 1
    (got,) = receiver.accepted()
    assert set(got.payload) == {"type", "id", "timestamp", "data"}
    assert got.payload["type"] == "survey.answered"
    data = got.payload["data"]
    assert data["ticket"]["id"] == ticket.id and data["ticket"]["status"] == "solved"
    assert data["survey"]["kind"] == "csat"
    assert (data["survey"]["score"], data["survey"]["comment"]) == (4, "Quick, thanks")
    assert data["survey"]["answered_at"]


def test_a_split_is_sent_with_both_tickets_in_the_tickets_order(
    ctx, receiver, subscribed, open_ticket, make_user
):
    subscribed(receiver, ("ticket.split", "ticket.updated"))
    ticket = db.session.get(Ticket, open_ticket(text="My order is late"))
    later = service.reply(ticket, make_user(), "Also: your invoice is attached")
    db.session.commit()
    _raise_priority(ticket.id, "high")
    ticket = db.session.get(Ticket, ticket.id)
    part = service.split(ticket, later, None)
    db.session.commit()

    deliver_due(WORKER)
    got = [r.payload for r in receiver.accepted()]
    # The reply opened the ticket, then its priority went up, then it was split.
    assert [p["type"] for p in got] == ["ticket.updated", "ticket.updated", "ticket.split"]
    split = got[2]["data"]
    assert split["ticket"]["id"] == ticket.id and split["ticket"]["number"] == ticket.number
    assert split["part"]["id"] == part.id and split["part"]["split_from"] == ticket.id
    assert split["part"]["customer"]["id"] == ticket.customer_id
    endpoint_id = db.session.scalars(select(WebhookEndpoint.id)).one()
    # Ordered with the original ticket's events.
    assert deliveries(endpoint_id)[2].ticket_id == ticket.id


def test_events_of_different_tickets_go_in_parallel_and_each_tickets_in_order(
    app, ctx, subscribed, open_ticket, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOK_CONCURRENCY", 4)
    slow = Receiver(delay=0.3)
    slow.up()
    try:
        subscribed(slow, ("ticket.created", "ticket.updated"))
        tickets = [open_ticket(sender=f"customer{n}@customer.test") for n in range(4)]
        for ticket_id in tickets:
            _raise_priority(ticket_id, "high")
        started = time.monotonic()
        assert deliver_due(WORKER) == 8
        # Four tickets at once, two events each one after the other: 2 × 0.3 s, not 8 × 0.3 s.
        assert time.monotonic() - started < 1.5
        for ticket_id in tickets:
            kinds = [
                r.payload["type"]
                for r in sorted(slow.accepted(), key=lambda r: r.at)
                if r.payload["data"]["ticket"]["id"] == ticket_id
            ]
            assert kinds == ["ticket.created", "ticket.updated"]
    finally:
        slow.down()


def test_one_sender_reuses_its_connection(app, ctx, receiver, subscribed, open_ticket, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOK_CONCURRENCY", 1)
    subscribed(receiver, ("ticket.created", "message.created", "ticket.updated"))
    ticket_id = open_ticket()
    _raise_priority(ticket_id, "high")
    assert deliver_due(WORKER) == 3
    assert receiver.connections_opened == 1


def test_the_sender_count_is_a_setting(monkeypatch):
    from helpdesk import create_app

    monkeypatch.setenv("HELPDESK_WEBHOOK_CONCURRENCY", "3")
    assert create_app({"TESTING": True}).config["HELPDESK_WEBHOOK_CONCURRENCY"] == 3
    monkeypatch.setenv("HELPDESK_WEBHOOK_CONCURRENCY", "none")
    with pytest.raises(ValueError, match="HELPDESK_WEBHOOK_CONCURRENCY"):
        create_app({"TESTING": True})
