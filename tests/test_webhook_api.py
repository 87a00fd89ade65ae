"""The webhook API: subscribe, read, change, pause and resume, rotate, remove, read the delivery
log and redeliver, as admins do on the page; sent to a real receiver."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from webhook_receiver import deliveries

from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Role, WebhookEndpoint, utcnow
from helpdesk.webhooks.delivery import deliver_due

WORKER = "test-worker"

pytestmark = pytest.mark.usefixtures("private_targets")


@pytest.fixture
def admin(ctx, make_user, make_token) -> dict[str, str]:
    """An admin's token headers."""
    return {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}


def test_admins_subscribe_list_and_remove_webhooks_through_the_api(
    client, ctx, make_user, make_token, receiver, open_ticket
):
    from helpdesk.models import AuditEvent, Role

    admin = {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}
    agent = {"Authorization": f"Bearer {make_token(make_user(role=Role.AGENT))}"}
    body = {"url": receiver.url, "events": ["ticket.created"]}

    assert client.post("/api/v1/webhooks", json=body, headers=agent).status_code == 403
    made = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert made.status_code == 201, made.text
    secret = made.json["secret"]
    assert secret.startswith("whsec_")
    receiver.secrets.append(secret)

    listed = client.get("/api/v1/webhooks", headers=admin).json["items"]
    assert [(w["url"], w["events"]) for w in listed] == [(receiver.url, ["ticket.created"])]
    assert "secret" not in listed[0]
    open_ticket()
    deliver_due(WORKER)
    assert len(receiver.accepted()) == 1

    actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert "webhook.created" in actions
    assert secret not in str(db.session.scalars(select(AuditEvent.after)).all())

    webhook_id = made.json["id"]
    assert client.delete(f"/api/v1/webhooks/{webhook_id}", headers=admin).status_code == 204
    assert client.delete(f"/api/v1/webhooks/{webhook_id}", headers=admin).status_code == 404
    assert client.get("/api/v1/webhooks", headers=admin).json["items"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "https://example.com/hook", "events": ["ticket.exploded"]}, "events"),
        ({"url": "https://example.com/hook", "events": []}, "events"),
        ({"events": ["ticket.created"]}, "url"),
    ],
)
def test_bad_webhook_bodies_are_refused_naming_the_field(
    client, ctx, make_user, make_token, body, field
):
    from helpdesk.models import Role

    admin = {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}
    answer = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert answer.status_code == 400
    assert field in answer.json["error"]["message"]


def test_a_private_target_is_refused_by_the_api(
    app, client, ctx, make_user, make_token, monkeypatch
):
    from helpdesk.models import Role

    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", False)
    admin = {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}
    body = {"url": "https://127.0.0.1:9/hook", "events": ["ticket.created"]}
    answer = client.post("/api/v1/webhooks", json=body, headers=admin)
    assert answer.status_code == 400
    assert answer.json["error"]["message"].startswith("url: ")


def test_an_endpoint_shows_its_counts_pauses_after_24_hours_and_resumes(
    client, admin, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    receiver.fail = True
    open_ticket(sender="ann@customer.test")
    open_ticket(sender="bob@customer.test")
    now = utcnow()
    deliver_due(WORKER, now)
    first = deliveries(endpoint_id)[0]
    first.failing_since = now - timedelta(hours=24)
    db.session.commit()
    deliver_due(WORKER, now + timedelta(seconds=20))

    shown = client.get(f"/api/v1/webhooks/{endpoint_id}", headers=admin)
    assert shown.status_code == 200, shown.text
    body = shown.json
    assert (body["queued"], body["failed"], body["delivered"]) == (1, 1, 0)
    assert body["paused_at"] is not None
    assert f"Event {first.event_id} (ticket.created) failed for 24 hours" in body["pause_reason"]
    assert "last answer: HTTP 503" in body["pause_reason"]
    assert "secret" not in body

    receiver.fail = False
    resumed = client.patch(f"/api/v1/webhooks/{endpoint_id}", json={"paused": False}, headers=admin)
    assert resumed.status_code == 200, resumed.text
    assert resumed.json["paused_at"] is None and resumed.json["pause_reason"] is None
    assert deliver_due(WORKER) == 1
    shown = client.get(f"/api/v1/webhooks/{endpoint_id}", headers=admin).json
    assert (shown["queued"], shown["failed"], shown["delivered"]) == (0, 1, 1)


def test_an_admin_changes_the_url_and_events_and_pauses(
    app, client, admin, receiver, subscribed, open_ticket, monkeypatch
):
    from webhook_receiver import Receiver

    endpoint_id = subscribed(receiver, ("ticket.created",))
    other = Receiver(secrets=list(receiver.secrets))
    other.up()
    try:
        changes = {"url": other.url, "events": ["message.created", "ticket.created"]}
        changed = client.patch(f"/api/v1/webhooks/{endpoint_id}", json=changes, headers=admin)
        assert changed.status_code == 200, changed.text
        assert changed.json["url"] == other.url
        assert changed.json["events"] == ["ticket.created", "message.created"]
        open_ticket()
        assert deliver_due(WORKER) == 2
        assert receiver.received == [] and len(other.accepted()) == 2
    finally:
        other.down()

    paused = client.patch(f"/api/v1/webhooks/{endpoint_id}", json={"paused": True}, headers=admin)
    assert paused.json["pause_reason"] == "Paused by an admin."
    open_ticket(sender="cid@customer.test")
    assert deliver_due(WORKER) == 0
    assert paused.json["queued"] == 0
    assert client.get(f"/api/v1/webhooks/{endpoint_id}", headers=admin).json["queued"] == 2

    rows = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "webhook.changed")
    ).all()
    assert rows[-1].after == {"url": other.url, "events": ["ticket.created", "message.created"]}
    assert [r.action for r in db.session.scalars(select(AuditEvent))].count(
        "api.update_webhook"
    ) == 2


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"url": "https://127.0.0.1:9/hook"}, "url", "private address"),
        ({"url": "ftp://example.com/hook"}, "url", "full https:// URL"),
        ({"events": ["ticket.exploded"]}, "events", "events"),
        ({"events": []}, "events", "events"),
        ({"secret": "whsec_mine"}, "secret", "unknown field"),
    ],
)
def test_bad_changes_are_refused_and_change_nothing(
    app, client, admin, receiver, subscribed, monkeypatch, body, field, message
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", False)
    answer = client.patch(f"/api/v1/webhooks/{endpoint_id}", json=body, headers=admin)
    assert answer.status_code == 400
    assert answer.json["error"]["code"] == "invalid"
    fields = answer.json["error"]["details"]["fields"]
    assert [f.partition(".")[0] for f in fields] == [field]  # "events.0": the first event
    assert message in answer.json["error"]["message"]
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    assert (endpoint.url, endpoint.events) == (receiver.url, ["ticket.created"])


def test_a_rotated_secret_is_answered_once_and_both_sign_for_a_day(
    client, admin, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    old = receiver.secrets[0]
    rotated = client.post(f"/api/v1/webhooks/{endpoint_id}/rotate-secret", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json["secret"]
    assert new.startswith("whsec_") and new != old
    expires = rotated.json["previous_secret_expires_at"]
    assert timedelta(hours=23) < _parsed(expires) - utcnow() <= timedelta(hours=24)
    assert new not in client.get(f"/api/v1/webhooks/{endpoint_id}", headers=admin).text
    assert new not in str(db.session.scalars(select(AuditEvent.after)).all())

    receiver.secrets = [old, new]
    open_ticket()
    deliver_due(WORKER)
    assert [r.valid_signatures for r in receiver.accepted()] == [2]


def _parsed(stamp: str):
    from datetime import datetime

    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_the_delivery_log_pages_newest_first_with_attempts_and_redelivers(
    client, admin, receiver, subscribed, open_ticket
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    receiver.fail = True
    for name in ("ann", "bob", "cid"):
        open_ticket(sender=f"{name}@customer.test")
    now = utcnow()
    deliver_due(WORKER, now)
    receiver.fail = False
    deliver_due(WORKER, now + timedelta(seconds=11))
    rows = deliveries(endpoint_id)

    url = f"/api/v1/webhooks/{endpoint_id}/deliveries"
    first = client.get(url, query_string={"limit": 2}, headers=admin)
    assert first.status_code == 200, first.text
    rest = client.get(url, query_string={"cursor": first.json["next_cursor"]}, headers=admin)
    assert rest.json["next_cursor"] is None
    items = first.json["items"] + rest.json["items"]
    assert [i["id"] for i in items] == [d.id for d in reversed(rows)]
    newest = items[0]
    assert newest["event_id"] == rows[-1].event_id
    assert (newest["event_type"], newest["state"]) == ("ticket.created", "delivered")
    assert [(a["status"], a["response_excerpt"]) for a in newest["attempts"]] == [
        (503, "no"),
        (200, "ok"),
    ]
    assert newest["next_attempt_at"] is None and newest["delivered_at"] is not None

    again = client.post(f"{url}/{rows[0].id}/redeliver", headers=admin)
    assert again.status_code == 200, again.text
    assert again.json["state"] == "pending" and len(again.json["attempts"]) == 2
    deliver_due(WORKER)
    assert [r.msg_id for r in receiver.accepted()].count(rows[0].event_id) == 2

    assert client.get(f"{url}?cursor=nonsense", headers=admin).status_code == 400
    assert client.get("/api/v1/webhooks/999/deliveries", headers=admin).status_code == 404
    other = subscribed(receiver, ("ticket.created",))
    wrong = client.post(
        f"/api/v1/webhooks/{other}/deliveries/{rows[0].id}/redeliver", headers=admin
    )
    assert wrong.status_code == 404


def test_only_admins_with_the_admin_scope_reach_the_webhook_routes(
    client, ctx, make_user, make_token, receiver, subscribed
):
    from helpdesk.models import ApiToken, TokenScope

    endpoint_id = subscribed(receiver, ("ticket.created",))
    manager = {"Authorization": f"Bearer {make_token(make_user(role=Role.MANAGER))}"}
    writer = {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}
    token = db.session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
    token.scope = TokenScope.WRITE
    db.session.commit()
    for method, path in [
        ("GET", f"/api/v1/webhooks/{endpoint_id}"),
        ("PATCH", f"/api/v1/webhooks/{endpoint_id}"),
        ("POST", f"/api/v1/webhooks/{endpoint_id}/rotate-secret"),
        ("GET", f"/api/v1/webhooks/{endpoint_id}/deliveries"),
    ]:
        for headers, code in ((manager, "forbidden"), (writer, "insufficient-scope")):
            answer = client.open(path, method=method, json={}, headers=headers)
            assert answer.status_code == 403, (method, path)
            assert answer.json["error"]["code"] == code, (method, path)
