"""Spam and the trash: what agents, managers and admins see and may do, threading to spam and
deleted tickets, restoring, and the worker's purge after 30 days."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import (
    Attachment,
    AuditEvent,
    Message,
    Role,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    WebhookDelivery,
    utcnow,
)
from helpdesk.reports import stage_load
from helpdesk.storage import blob_store
from helpdesk.tickets import queries, service, sla, trash
from helpdesk.tickets.bins import Bin
from helpdesk.webhooks import endpoints

PASSWORD = "correct horse battery"


@pytest.fixture
def sign_in(app: Flask, setup, make_user) -> Callable[[Role], tuple[FlaskClient, int]]:
    """``sign_in(role)``: a browser of its own, logged in as a new user of that role."""

    def build(role: Role) -> tuple[FlaskClient, int]:
        with setup():
            user = make_user(role=role)
            email, user_id = user.email, user.id
        browser = app.test_client()
        response = browser.post("/login", data={"email": email, "password": PASSWORD})
        assert response.status_code == 302
        return browser, user_id

    return build


@pytest.fixture
def bearer(setup, make_user, make_token) -> Callable[[Role], dict[str, str]]:
    """``bearer(role)``: API headers for a new user of that role."""

    def build(role: Role) -> dict[str, str]:
        with setup():
            return {"Authorization": f"Bearer {make_token(make_user(role=role))}"}

    return build


def _ticket(ticket_id: int) -> Ticket:
    return db.session.get(Ticket, ticket_id)


def _listed(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[int]:
    response = client.get(f"/api/v1/tickets?{query}", headers=headers)
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


# --- out of everything agents work from -----------------------------------------------------


def test_spam_leaves_the_lists_counts_and_searches_and_waits_in_the_spam_list(
    client, app, open_ticket, bearer, sign_in, setup
):
    agent = bearer(Role.AGENT)
    kept = open_ticket(sender="ann@customer.test", subject="Parcel missing")
    junk = open_ticket(sender="win@prizes.test", subject="Parcel prize waiting")
    marked = client.post(f"/api/v1/tickets/{junk}/spam", headers=agent)
    assert marked.status_code == 200 and marked.json["spam"] is True
    assert marked.json["deleted_at"] is None

    assert _listed(client, agent) == [kept]
    assert _listed(client, agent, "q=parcel") == [kept]
    assert _listed(client, agent, "in=spam") == [junk]
    with app.app_context():
        counts = queries.status_counts(queries.TicketFilter())
        assert counts[TicketStatus.NEW].value == 1
        assert queries.capped_counts([queries.TicketFilter(q="prize")])[0].value == 0
        spam_count = queries.status_counts(queries.TicketFilter(in_bin=Bin.SPAM))
        assert spam_count[TicketStatus.NEW].value == 1

    browser, _ = sign_in(Role.AGENT)
    with setup():
        number = _ticket(junk).number
    queue = browser.get("/tickets?status=new,open,pending")
    assert f"#{number}" not in queue.text and ">Spam" in queue.text
    spam_list = browser.get("/tickets?in=spam")
    assert f"#{number}" in spam_list.text
    # An agent may open it and take the mark off: back in the queue as it was.
    page = browser.get(f"/tickets/{junk}")
    assert "Marked as spam" in page.text and "Not spam" in page.text
    assert browser.post(f"/tickets/{junk}/not-spam").status_code == 302
    assert sorted(_listed(client, agent)) == sorted([kept, junk])


def test_a_deleted_ticket_is_gone_for_agents_and_marked_deleted_for_admins(
    client, open_ticket, bearer, sign_in, setup
):
    agent, manager, admin = bearer(Role.AGENT), bearer(Role.MANAGER), bearer(Role.ADMIN)
    first = open_ticket(sender="ann@customer.test", subject="First")
    doomed = open_ticket(sender="ann@customer.test", subject="Second")
    with setup():
        customer, number = _ticket(doomed).customer_id, _ticket(doomed).number

    deleted = client.delete(f"/api/v1/tickets/{doomed}", headers=manager)
    assert deleted.status_code == 204

    assert _listed(client, agent) == [first]
    assert client.get(f"/api/v1/tickets/{doomed}", headers=agent).status_code == 404
    assert client.get(f"/api/v1/tickets/{doomed}", headers=manager).status_code == 404
    history = client.get(f"/api/v1/customers/{customer}", headers=agent).json["tickets"]
    assert [t["id"] for t in history] == [first]
    refused = client.get("/api/v1/tickets?in=trash", headers=agent)
    assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"

    seen = client.get(f"/api/v1/tickets/{doomed}", headers=admin)
    assert seen.status_code == 200 and seen.json["deleted_at"] is not None
    assert seen.json["reply_blocked"].startswith(f"#{number} was deleted")
    assert _listed(client, admin, "in=trash") == [doomed]

    browser, _ = sign_in(Role.AGENT)
    assert browser.get(f"/tickets/{doomed}").status_code == 404
    assert f"#{number}" not in browser.get(f"/customers/{customer}").text
    assert browser.get("/tickets?in=trash").status_code == 400
    admin_browser, _ = sign_in(Role.ADMIN)
    page = admin_browser.get(f"/tickets/{doomed}")
    assert page.status_code == 200 and "Deleted" in page.text and "Restore" in page.text
    trash_page = admin_browser.get("/admin/trash")
    assert f"#{number}" in trash_page.text and ">30<" in trash_page.text


def test_reports_count_neither_spam_nor_deleted_tickets(
    client, app, open_ticket, bearer, sign_in, setup
):
    manager = bearer(Role.MANAGER)
    ids = [open_ticket(sender=f"c{n}@customer.test") for n in range(3)]
    client.post(f"/api/v1/tickets/{ids[1]}/spam", headers=manager)
    client.delete(f"/api/v1/tickets/{ids[2]}", headers=manager)
    with app.app_context():
        stage = _ticket(ids[0]).stage.value
        today = utcnow().date()
        report = stage_load.ReportRange.from_args({}, "UTC", today)
        load = stage_load.stage_load(report)
        cell = load.cell(_ticket(ids[0]).stage, _ticket(ids[0]).channel)
        assert (cell.arrivals, cell.backlog) == (1, 1)
        assert sum(stage_load.backlog_by_age(report)[_ticket(ids[0]).stage]) == 1

    browser, _ = sign_in(Role.MANAGER)
    table = browser.get(f"/reports/stages.csv?from={today}&to={today}").text.splitlines()
    row = next(line for line in table if line.startswith(f"{stage},email,"))
    assert row.startswith(f"{stage},email,1,1,0,1,")
    drilled = browser.get(f"/reports/stages-tickets.csv?from={today}&to={today}").text
    assert len(drilled.splitlines()) == 1 + 1


def test_a_deleted_tickets_files_and_messages_are_for_admins_only(
    client, open_ticket, bearer, sign_in, setup
):
    """Everything reached through a deleted ticket is as gone as the ticket itself."""
    receipt = InboundAttachment("receipt.txt", "text/plain", b"order 1001")
    doomed = open_ticket(sender="hal@customer.test", attachments=(receipt,))
    with setup():
        message = _ticket(doomed).messages[0]
        file_id, message_id = message.attachments[0].id, message.id
    agent, admin = bearer(Role.AGENT), bearer(Role.ADMIN)
    assert (
        client.delete(f"/api/v1/tickets/{doomed}", headers=bearer(Role.MANAGER)).status_code == 204
    )

    for url in (
        f"/api/v1/attachments/{file_id}",
        f"/api/v1/tickets/{doomed}/messages",
        f"/api/v1/tickets/{doomed}/attachments",
    ):
        assert client.get(url, headers=agent).status_code == 404, url
        assert client.get(url, headers=admin).status_code == 200, url
    retry = client.post(f"/api/v1/messages/{message_id}/retry", headers=agent)
    assert retry.status_code == 404
    browser, _ = sign_in(Role.AGENT)
    assert browser.get(f"/attachments/{file_id}").status_code == 404
    admin_browser, _ = sign_in(Role.ADMIN)
    assert admin_browser.get(f"/attachments/{file_id}").data == b"order 1001"


# --- threading --------------------------------------------------------------------------------


def test_a_customer_message_to_a_spam_ticket_lands_on_it_quietly(
    ctx, open_ticket, make_user, inbound
):
    agent = make_user()
    ticket = _ticket(open_ticket(sender="win@prizes.test", external_id="<first@prizes.test>"))
    service.set_status(ticket, agent, "solved")
    trash.mark_spam(ticket, agent)
    waited_since = ticket.last_customer_message_at
    db.session.commit()

    again = service.receive(
        inbound(sender="win@prizes.test", thread_hints=("<first@prizes.test>",), text="WIN!")
    )
    db.session.commit()
    assert again.ticket_id == ticket.id
    assert "spam" in again.thread_reason
    db.session.refresh(ticket)
    assert ticket.status == TicketStatus.SOLVED and ticket.is_spam
    assert ticket.last_customer_message_at == waited_since
    assert ticket.sla_due_at is None
    assert not [e for e in ticket.events if e.kind == "reopened"]


def test_a_customer_message_to_a_deleted_ticket_opens_a_new_one(
    ctx, open_ticket, make_user, inbound
):
    manager = make_user(role=Role.MANAGER)
    ticket = _ticket(open_ticket(sender="ann@customer.test", external_id="<a1@customer.test>"))
    trash.delete_ticket(ticket, manager)
    db.session.commit()
    for hints, subject in (((("<a1@customer.test>",)), "Re: hello"), ((), f"[#{ticket.number}]")):
        later = service.receive(
            inbound(sender="ann@customer.test", thread_hints=hints, subject=subject)
        )
        db.session.commit()
        assert later.ticket_id != ticket.id
        assert not _ticket(later.ticket_id).is_deleted
    assert len(_ticket(ticket.id).messages) == 1


def test_sms_and_chat_conversations_pass_over_a_deleted_ticket(
    ctx, open_ticket, make_user, inbound
):
    manager = make_user(role=Role.MANAGER)
    texted = _ticket(open_ticket("sms"))
    trash.delete_ticket(texted, manager)
    db.session.commit()
    follow = service.receive(inbound("sms", text="Still there?"))
    db.session.commit()
    assert follow.ticket_id != texted.id
    # The next text goes on with the new conversation, not into the trash.
    assert service.receive(inbound("sms", text="Hello?")).ticket_id == follow.ticket_id


def test_merged_tickets_thread_to_the_surviving_ticket(ctx, open_ticket, make_user, inbound):
    admin = make_user(role=Role.ADMIN)
    source = _ticket(open_ticket(sender="ann@customer.test", external_id="<s1@customer.test>"))
    target = _ticket(open_ticket(sender="ann@customer.test", external_id="<t1@customer.test>"))
    service.merge(source, target, admin)
    db.session.commit()

    def reply_to_source() -> int:
        message = service.receive(
            inbound(sender="ann@customer.test", thread_hints=("<s1@customer.test>",))
        )
        db.session.commit()
        return message.ticket_id

    # The source deleted: its conversation lives on the target, which still takes it.
    trash.delete_ticket(source, admin)
    db.session.commit()
    assert reply_to_source() == target.id
    # The target spam: kept there quietly, its status as it was.
    service.set_status(target, admin, "solved")
    trash.mark_spam(target, admin)
    db.session.commit()
    assert reply_to_source() == target.id
    assert target.status == TicketStatus.SOLVED and target.is_spam
    # The target deleted: a new ticket, never the trash.
    trash.delete_ticket(target, admin)
    db.session.commit()
    assert reply_to_source() not in (source.id, target.id)
    with pytest.raises(service.MergeRefused, match="in the trash"):
        service.check_merge(_ticket(open_ticket(sender="bo@customer.test")), target)


# --- restoring ------------------------------------------------------------------------------


def test_restore_brings_everything_back_and_each_step_is_an_event_and_a_version(
    client, open_ticket, sign_in, setup
):
    manager_browser, manager = sign_in(Role.MANAGER)
    admin_browser, admin = sign_in(Role.ADMIN)
    ticket_id = open_ticket(sender="ann@customer.test", subject="Broken lamp")
    with setup():
        ticket = _ticket(ticket_id)
        service.assign(ticket, None, db.session.get(User, manager))
        service.set_priority(ticket, None, "high")
        service.add_tag(ticket, None, "lamp")
    with setup():
        ticket = _ticket(ticket_id)
        before = (ticket.status, ticket.priority, ticket.assignee_id, [t.name for t in ticket.tags])
        version = ticket.version

    assert manager_browser.post(f"/tickets/{ticket_id}/delete").status_code == 302
    assert manager_browser.post(f"/admin/trash/{ticket_id}/restore").status_code == 403
    restored = admin_browser.post(f"/admin/trash/{ticket_id}/restore")
    assert restored.status_code == 302 and restored.headers["Location"] == f"/tickets/{ticket_id}"

    with setup():
        ticket = _ticket(ticket_id)
        after = (ticket.status, ticket.priority, ticket.assignee_id, [t.name for t in ticket.tags])
        assert after == before and not ticket.is_deleted
        assert ticket.version == version + 2
        moves = [(e.kind, e.to_value, e.actor_id) for e in ticket.events if e.kind == "deleted"]
        assert moves == [("deleted", "true", manager), ("deleted", "false", admin)]
        audited = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == str(ticket_id))
        ).all()
        assert {"ticket.deleted", "ticket.restored"} <= set(audited)
        number = ticket.number
    assert f"#{number}" in manager_browser.get("/tickets?status=new,open,pending").text


# --- purging ----------------------------------------------------------------------------------


def _with_files(inbound, sender: str, *files: tuple[str, bytes]) -> int:
    attachments = tuple(InboundAttachment(name, "text/plain", data) for name, data in files)
    return service.receive(inbound(sender=sender, attachments=attachments)).ticket_id


def test_the_purge_after_30_days_removes_rows_and_unshared_files(ctx, make_user, inbound):
    manager = make_user(role=Role.MANAGER)
    doomed = _ticket(
        _with_files(inbound, "ann@x.test", ("a.txt", b"only here"), ("s.txt", b"both"))
    )
    kept = _ticket(_with_files(inbound, "bo@x.test", ("s.txt", b"both")))
    db.session.commit()
    keys = {a.filename: a.storage_key for m in doomed.messages for a in m.attachments}
    message_ids = [m.id for m in doomed.messages]
    doomed_id, kept_id = doomed.id, kept.id
    trash.delete_ticket(doomed, manager)
    db.session.commit()

    assert trash.purge_expired(now=utcnow() + timedelta(days=29)) == 0
    assert trash.purge_expired(now=utcnow() + timedelta(days=31)) == 1
    db.session.expire_all()
    assert db.session.get(Ticket, doomed_id) is None
    gone = (
        select(func.count()).select_from(Message).where(Message.id.in_(message_ids)),
        select(func.count()).select_from(Attachment).where(Attachment.message_id.in_(message_ids)),
        select(func.count()).select_from(TicketEvent).where(TicketEvent.ticket_id == doomed_id),
    )
    assert [db.session.scalar(query) for query in gone] == [0, 0, 0]
    store = blob_store()
    with pytest.raises(KeyError):
        store.get(keys["a.txt"])
    assert store.get(keys["s.txt"]) == b"both"
    assert db.session.get(Ticket, kept_id).messages[0].attachments[0].storage_key == keys["s.txt"]
    purged = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "tickets.purged"))
    assert purged.after["count"] == 1 and purged.after["ids"] == [doomed_id]


def test_worker_once_purges_what_is_due(app, runner, setup, open_ticket, make_user):
    ticket_id = open_ticket(sender="ann@customer.test")
    with setup():
        trash.delete_ticket(_ticket(ticket_id), make_user(role=Role.ADMIN))
        _ticket(ticket_id).deleted_at = utcnow() - timedelta(days=trash.RETENTION_DAYS, hours=1)
    worked = runner.invoke(args=["worker", "--once"])
    assert worked.exit_code == 0, worked.output
    with setup():
        assert _ticket(ticket_id) is None


# --- who may do what, and pages left open -------------------------------------------------------


def test_agents_may_not_delete_and_only_admins_restore(client, open_ticket, bearer, sign_in, setup):
    agent, manager, admin = bearer(Role.AGENT), bearer(Role.MANAGER), bearer(Role.ADMIN)
    ticket_id = open_ticket()
    agent_browser, _ = sign_in(Role.AGENT)
    assert agent_browser.post(f"/tickets/{ticket_id}/delete").status_code == 403
    assert "Delete</button>" not in agent_browser.get(f"/tickets/{ticket_id}").text
    assert client.delete(f"/api/v1/tickets/{ticket_id}", headers=agent).status_code == 403
    bulk = {"ids": [ticket_id], "changes": {"deleted": True}}
    assert client.post("/api/v1/tickets/bulk", json=bulk, headers=agent).status_code == 403
    with setup():
        assert not _ticket(ticket_id).is_deleted

    assert client.delete(f"/api/v1/tickets/{ticket_id}", headers=manager).status_code == 204
    refused = client.post(f"/api/v1/tickets/{ticket_id}/restore", headers=manager)
    assert refused.status_code == 403
    again = client.delete(f"/api/v1/tickets/{ticket_id}", headers=admin)
    assert again.status_code == 422 and "trash" in again.json["error"]["message"]
    restored = client.post(f"/api/v1/tickets/{ticket_id}/restore", headers=admin)
    assert restored.status_code == 200 and restored.json["deleted_at"] is None
    not_deleted = client.post(f"/api/v1/tickets/{ticket_id}/restore", headers=admin)
    assert not_deleted.status_code == 409


def test_a_reply_written_while_another_deleted_the_ticket_is_refused_and_kept(
    open_ticket, sign_in, setup
):
    writer, _ = sign_in(Role.AGENT)
    deleter, _ = sign_in(Role.MANAGER)
    ticket_id = open_ticket()
    assert writer.get(f"/tickets/{ticket_id}").status_code == 200
    assert deleter.post(f"/tickets/{ticket_id}/delete").status_code == 302

    text = "Your refund of 20 EUR is on its way."
    sent = writer.post(f"/tickets/{ticket_id}/messages", data={"text": text, "reply": "Send"})
    assert sent.status_code == 409
    assert "was deleted" in sent.text and text in sent.text
    changed = writer.post(f"/tickets/{ticket_id}/properties", data={"priority": "high"})
    assert changed.status_code == 404
    with setup():
        assert len(_ticket(ticket_id).messages) == 1


# --- versions, webhooks, SLA, surveys, bulk -------------------------------------------------------


def test_spam_is_a_ticket_update_for_webhooks_and_bumps_the_version(
    client, open_ticket, bearer, setup, app, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)
    agent = bearer(Role.AGENT)
    ticket_id = open_ticket()
    with setup():
        endpoint, _ = endpoints.subscribe("http://127.0.0.1:9/hook", ["ticket.updated"], None)
        endpoint_id = endpoint.id
        version = _ticket(ticket_id).version
    marked = client.post(f"/api/v1/tickets/{ticket_id}/spam", headers=agent)
    assert marked.json["version"] == version + 1
    assert marked.headers["ETag"] == f'"{ticket_id}-{version + 1}"'
    # Marking again changes nothing.
    assert client.post(f"/api/v1/tickets/{ticket_id}/spam", headers=agent).json["version"] == (
        version + 1
    )
    with setup():
        [delivery] = db.session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
        ).all()
        changes = delivery.payload["data"]["changes"]
        assert changes == {"spam": {"before": "false", "after": "true"}}
        assert delivery.payload["data"]["ticket"]["spam"] is True


def test_deadlines_and_surveys_skip_spam(ctx, make_user, inbound, app, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_CSAT", True)
    sla.set_target("unknown", first_response=15, resolution=None)
    agent = make_user()
    ticket = service.receive(inbound(sender="win@prizes.test")).ticket
    due = ticket.sla_due_at
    assert due is not None
    trash.mark_spam(ticket, agent)
    assert ticket.sla_due_at is None
    db.session.commit()
    assert sla.record_breaches(now=utcnow() + timedelta(hours=2)) == 0
    assert service.ask_for_rating(ticket) is None
    trash.unmark_spam(ticket, agent)
    assert ticket.sla_due_at == due


def test_bulk_marks_spam_and_deletes_closed_tickets_too_and_refuses_the_trash(
    client, open_ticket, bearer, setup
):
    agent, manager = bearer(Role.AGENT), bearer(Role.MANAGER)
    first, second = open_ticket(sender="a@x.test"), open_ticket(sender="b@x.test")
    with setup():
        service.set_status(_ticket(second), None, "closed")

    spam = {"ids": [first, second], "changes": {"spam": True}}
    done = client.post("/api/v1/tickets/bulk", json=spam, headers=agent)
    assert done.status_code == 200 and done.json["changed"] == [first, second]
    assert _listed(client, agent, "in=spam&status=new,closed") == [second, first]

    delete = {"ids": [first], "changes": {"deleted": True}}
    assert client.post("/api/v1/tickets/bulk", json=delete, headers=manager).json["changed"] == [
        first
    ]
    again = client.post(
        "/api/v1/tickets/bulk", json=spam | {"changes": {"spam": False}}, headers=manager
    )
    assert again.json["changed"] == [second]
    assert [r["id"] for r in again.json["refused"]] == [first]
    assert "trash" in again.json["refused"][0]["reason"]
    bad = client.post(
        "/api/v1/tickets/bulk",
        json={"ids": [first], "changes": {"deleted": False}},
        headers=manager,
    )
    assert bad.status_code == 400


def test_the_queue_bulk_bar_marks_spam_and_offers_delete_to_managers(open_ticket, sign_in, setup):
    ticket_id = open_ticket()
    agent_browser, _ = sign_in(Role.AGENT)
    queue = agent_browser.get("/tickets")
    assert "Mark as spam" in queue.text and ">Delete<" not in queue.text
    done = agent_browser.post("/tickets/bulk", data={"ids": [str(ticket_id)], "bulk-trash": "spam"})
    assert done.status_code == 200
    with setup():
        assert _ticket(ticket_id).is_spam
    manager_browser, _ = sign_in(Role.MANAGER)
    assert ">Delete<" in manager_browser.get("/tickets").text
    in_spam = manager_browser.post(
        "/tickets/bulk",
        data={"bulk-all_matching": "y", "bulk-query": "in=spam", "bulk-trash": "delete"},
    )
    assert in_spam.status_code == 200
    with setup():
        assert _ticket(ticket_id).is_deleted
