"""The REST API under /api/v1, used the way an integration would: HTTP in, JSON out.

Data is set up in an app context of its own that commits, as earlier requests would have done,
so each request runs in its own context and session exactly as in production.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from unittest.mock import ANY

import pytest
from sqlalchemy import select

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Message, Ticket, User, utcnow
from helpdesk.tickets import service


@dataclass(frozen=True)
class Caller:
    id: int
    headers: dict[str, str]


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


@pytest.fixture
def caller(setup, make_user, make_token) -> Caller:
    with setup():
        user = make_user(name="Ada Agent", email="ada@helpdesk.test")
        return Caller(user.id, {"Authorization": f"Bearer {make_token(user)}"})


def error_of(response) -> tuple[int, str]:
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) <= {"code", "message", "details"}
    assert body["error"]["message"]
    return response.status_code, body["error"]["code"]


# --- authentication ---------------------------------------------------------------------------


def test_requests_without_a_token_are_refused(client, open_ticket):
    ticket_id = open_ticket()
    for response in (
        client.get("/api/v1/tickets"),
        client.get(f"/api/v1/tickets/{ticket_id}"),
        client.get("/api/v1/tickets", headers={"Authorization": "Basic dXNlcjpwdw=="}),
        client.get("/api/v1/tickets", headers={"Authorization": "Bearer "}),
    ):
        assert error_of(response) == (401, "unauthorized")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused(client, caller):
    response = client.get("/api/v1/tickets", headers={"Authorization": "Bearer not-a-token"})
    assert error_of(response) == (401, "unauthorized")


def test_a_revoked_token_is_refused(client, caller, setup):
    with setup():
        for token in db.session.scalars(select(ApiToken)):
            token.revoked_at = utcnow()
    assert error_of(client.get("/api/v1/tickets", headers=caller.headers)) == (
        401,
        "unauthorized",
    )


def test_the_token_of_a_deactivated_user_is_refused(client, caller, setup):
    with setup():
        db.session.get(User, caller.id).active = False
    assert error_of(client.get("/api/v1/tickets", headers=caller.headers)) == (
        401,
        "unauthorized",
    )


def test_a_valid_token_works_and_records_its_use(client, caller, setup):
    response = client.get("/api/v1/tickets", headers=caller.headers)
    assert response.status_code == 200
    assert response.get_json() == {"items": [], "next_cursor": None}
    with setup():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == caller.id))
        assert token.last_used_at is not None


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_every_role_may_use_the_api(client, setup, make_user, make_token, role):
    with setup():
        token = make_token(make_user(role=role))
    response = client.get("/api/v1/customers", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


# --- ticket lists -----------------------------------------------------------------------------


@pytest.fixture
def queue(setup, inbound, make_user, caller) -> dict[str, int]:
    """Three tickets of different channel, status, priority, stage and assignee."""
    with setup():
        me = db.session.get(User, caller.id)
        other = make_user(name="Other Agent")
        refund = service.receive(
            inbound(received_at=at(1), subject="Refund please", text="Order 1001 arrived broken")
        ).ticket
        sms = service.receive(
            inbound("sms", received_at=at(2), sender="+15550002001", text="ORDER late")
        ).ticket
        service.set_status(sms, me, "open")
        service.set_priority(sms, me, "high")
        service.set_stage(sms, me, "purchase")
        service.assign(sms, me, me)
        chat = service.receive(
            inbound("chat", received_at=at(3), sender="visitor-7", chosen_stage="use")
        ).ticket
        service.set_status(chat, other, "pending")
        service.set_priority(chat, other, "urgent")
        service.assign(chat, other, other)
        db.session.flush()
        return {"refund": refund.id, "sms": sms.id, "chat": chat.id, "other": other.id}


def listed(client, caller, query: str = "") -> list[int]:
    response = client.get(f"/api/v1/tickets?{query}", headers=caller.headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_ticket_list_is_newest_first_with_summaries(client, caller, queue):
    body = client.get("/api/v1/tickets", headers=caller.headers).get_json()
    assert [item["id"] for item in body["items"]] == [queue["chat"], queue["sms"], queue["refund"]]
    assert body["next_cursor"] is None
    sms = body["items"][1]
    assert sms == {
        "id": queue["sms"],
        "number": 2,
        "subject": "ORDER late",
        "status": "open",
        "priority": "high",
        "channel": "sms",
        "stage": "purchase",
        "stage_source": "agent",
        "proactive": False,
        "customer": {"id": sms["customer"]["id"], "name": "+15550002001"},
        "assignee": {"id": caller.id, "name": "Ada Agent", "email": "ada@helpdesk.test"},
        "team": None,
        "created_at": "2024-05-02T12:00:00Z",
        "updated_at": sms["updated_at"],
        "tags": [],
        "cc": [],
        # Opened and changed in one transaction: one committed change.
        "version": 1,
        "merged_into": None,
        "split_from": None,
        "spam": False,
        "deleted_at": None,
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=open", ["sms"]),
        ("status=new,pending", ["chat", "refund"]),
        ("stage=purchase", ["sms"]),
        ("stage=use,unknown", ["chat", "refund"]),
        ("channel=email", ["refund"]),
        ("channel=sms,chat", ["chat", "sms"]),
        ("priority=urgent", ["chat"]),
        ("priority=normal,high", ["sms", "refund"]),
        ("assignee=me", ["sms"]),
        ("assignee=none", ["refund"]),
        ("q=order", ["sms", "refund"]),
        ("q=BROKEN+refund", ["refund"]),
        ("q=order+broken+late", []),
        ("created_from=2024-05-02", ["chat", "sms"]),
        ("created_to=2024-05-02", ["sms", "refund"]),
        ("created_from=2024-05-02&created_to=2024-05-02", ["sms"]),
        ("channel=sms,email&q=order&assignee=none", ["refund"]),
        ("status=open,pending&priority=urgent&stage=use", ["chat"]),
        ("status=open&assignee=none", []),
    ],
)
def test_ticket_list_filters(client, caller, queue, query, expected):
    assert listed(client, caller, query) == [queue[name] for name in expected]


def test_ticket_list_filters_by_assignee_id(client, caller, queue):
    assert listed(client, caller, f"assignee={queue['other']}") == [queue["chat"]]
    assert listed(client, caller, f"assignee={caller.id}&channel=sms") == [queue["sms"]]


def test_pagination_walks_all_tickets_once(client, caller, open_ticket):
    # Seven tickets on three instants: ties on created_at must neither repeat nor drop one.
    ids = [open_ticket(received_at=at(n % 3 + 1), subject=f"T{n}") for n in range(7)]
    seen, url = [], "/api/v1/tickets?limit=2"
    while url:
        body = client.get(url, headers=caller.headers).get_json()
        assert len(body["items"]) <= 2
        seen += [(item["created_at"], item["id"]) for item in body["items"]]
        cursor = body["next_cursor"]
        url = cursor and f"/api/v1/tickets?limit=2&cursor={cursor}"
    assert sorted(row_id for _, row_id in seen) == sorted(ids)
    assert seen == sorted(seen, reverse=True), "newest first, the id breaking ties"


def test_ticket_list_sorts(client, caller, queue):
    assert listed(client, caller, "sort=newest") == [queue["chat"], queue["sms"], queue["refund"]]
    assert listed(client, caller, "sort=priority") == [queue["chat"], queue["sms"], queue["refund"]]
    assert listed(client, caller, "sort=waiting") == [queue["refund"], queue["sms"], queue["chat"]]
    assert listed(client, caller, "sort=waiting&status=new,pending") == [
        queue["refund"],
        queue["chat"],
    ]


def test_a_cursor_of_another_sort_is_refused(client, caller, queue):
    first = client.get("/api/v1/tickets?limit=1&sort=priority", headers=caller.headers)
    cursor = first.get_json()["next_cursor"]
    response = client.get(f"/api/v1/tickets?sort=waiting&cursor={cursor}", headers=caller.headers)
    assert error_of(response) == (400, "invalid")
    assert "priority" in response.get_json()["error"]["message"]
    second = client.get(
        f"/api/v1/tickets?limit=1&sort=priority&cursor={cursor}", headers=caller.headers
    )
    assert [item["id"] for item in second.get_json()["items"]] == [queue["sms"]]


def test_openapi_describes_the_sorts(client):
    document = client.get("/api/v1/openapi.json").get_json()
    parameters = document["paths"]["/api/v1/tickets"]["get"]["parameters"]
    sort = next(p for p in parameters if p.get("name") == "sort")
    assert sort["schema"]["enum"] == ["newest", "waiting", "priority", "due"]


@pytest.mark.parametrize(
    "query",
    [
        "status=bogus",
        "stage=purchase,nope",
        "channel=fax",
        "priority=1",
        "assignee=someone",
        "created_from=2024-02-30",
        "created_to=05/01/2024",
        "limit=0",
        "limit=201",
        "limit=many",
        "cursor=garbage",
        "sort=oldest",
    ],
)
def test_ticket_list_refuses_bad_parameters(client, caller, query):
    response = client.get(f"/api/v1/tickets?{query}", headers=caller.headers)
    assert error_of(response) == (400, "invalid")


# --- one ticket -------------------------------------------------------------------------------


def test_ticket_detail_has_the_whole_story(client, caller, setup, inbound):
    with setup():
        first = service.receive(
            inbound(
                received_at=at(1),
                sender="ada@customer.test",
                sender_name="Ada Lovelace",
                recipient="sales@shop.test",
                subject="Quote",
                text="Please send a quote",
            )
        ).ticket
        service.set_status(first, None, "closed")
        follow_up = service.receive(
            inbound(
                received_at=at(2),
                subject=f"Re: Quote [#{first.number}]",
                text="One more thing",
                attachments=(InboundAttachment("spec.pdf", "application/pdf", b"%PDF-1.4"),),
            )
        ).ticket
        db.session.flush()
        first_id, ticket_id = first.id, follow_up.id

    body = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()

    assert body["id"] == ticket_id
    assert body["number"] == 2
    assert body["subject"] == "Re: Quote [#1]"
    assert (body["status"], body["priority"], body["channel"]) == ("new", "normal", "email")
    assert body["endpoint"] == "support@shop.test"
    assert (body["stage"], body["intake_stage"], body["stage_source"]) == (
        "unknown",
        "unknown",
        "none",
    )
    assert body["intake_rule"] is None and body["stage_reason"]
    assert body["customer"]["name"] == "Ada Lovelace"
    assert body["customer"]["identities"] == [
        {
            "id": ANY,
            "kind": "email",
            "value": "ada@customer.test",
            "verified": True,
            "opted_out_at": None,
            "opt_out_reason": None,
        }
    ]
    assert body["assignee"] is None
    assert body["previous_ticket"] == {"id": first_id, "number": 1}
    assert body["created_at"] == "2024-05-02T12:00:00Z"
    assert body["first_response_at"] is None and body["solved_at"] is None
    [message] = body["messages"]
    assert message["direction"] == "inbound"
    assert message["author"] is None
    assert (message["sender"], message["text"]) == ("ada@customer.test", "One more thing")
    assert message["external_id"].startswith("ext-")
    assert message["delivery_state"] is None
    assert message["thread_reason"]
    assert message["created_at"] == "2024-05-02T12:00:00Z"
    assert [
        {k: a[k] for k in ("filename", "content_type", "size")} for a in message["attachments"]
    ] == [{"filename": "spec.pdf", "content_type": "application/pdf", "size": 8}]
    assert [(e["kind"], e["actor"], e["created_at"]) for e in body["events"]] == [
        ("created", None, "2024-05-02T12:00:00Z")
    ]


def test_unknown_ticket_is_404(client, caller):
    assert error_of(client.get("/api/v1/tickets/999", headers=caller.headers)) == (
        404,
        "not_found",
    )


# --- replies and notes ------------------------------------------------------------------------


def test_reply_queues_an_outbound_message_and_counts_as_first_response(client, caller, open_ticket):
    ticket_id = open_ticket(sender="ada@customer.test")
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/replies", json={"text": "On its way"}, headers=caller.headers
    )

    assert response.status_code == 201
    message = response.get_json()
    assert message["direction"] == "outbound"
    assert message["delivery_state"] == "queued"
    assert message["text"] == "On its way"
    assert message["recipient"] == "ada@customer.test"
    assert message["author"]["id"] == caller.id
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()
    assert ticket["first_response_at"] == message["created_at"]
    assert ticket["status"] == "open"
    assert [m["id"] for m in ticket["messages"]][-1] == message["id"]


def test_note_is_internal_and_no_response(client, caller, open_ticket, setup):
    ticket_id = open_ticket()
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/notes", json={"text": "VIP customer"}, headers=caller.headers
    )

    assert response.status_code == 201
    note = response.get_json()
    assert (note["direction"], note["delivery_state"]) == ("note", None)
    assert note["author"]["id"] == caller.id
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()
    assert ticket["first_response_at"] is None
    assert ticket["status"] == "new"
    with setup():
        queued = db.session.scalars(select(Message).where(Message.delivery_state.is_not(None)))
        assert list(queued) == [], "a note is never queued for sending"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"json": {"text": "   "}}, (422, "invalid_input")),
        ({"json": {}}, (422, "invalid_input")),
        ({"json": {"text": 5}}, (400, "invalid")),
        ({"json": {"text": "hi", "bcc": "x"}}, (400, "invalid")),
        ({"json": ["hi"]}, (400, "invalid")),
        ({"data": "text=hi"}, (400, "invalid")),
        ({"data": "{not json", "content_type": "application/json"}, (400, "invalid")),
    ],
)
@pytest.mark.parametrize("kind", ["replies", "notes"])
def test_bad_message_bodies_are_refused(client, caller, open_ticket, kind, kwargs, expected):
    ticket_id = open_ticket()
    response = client.post(f"/api/v1/tickets/{ticket_id}/{kind}", headers=caller.headers, **kwargs)
    assert error_of(response) == expected
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()
    assert len(ticket["messages"]) == 1


def test_reply_to_unknown_ticket_is_404(client, caller):
    response = client.post(
        "/api/v1/tickets/42/replies", json={"text": "hi"}, headers=caller.headers
    )
    assert error_of(response) == (404, "not_found")


# --- changing a ticket ------------------------------------------------------------------------


def patch(client, caller, ticket_id: int, changes):
    return client.patch(f"/api/v1/tickets/{ticket_id}", json=changes, headers=caller.headers)


@pytest.mark.parametrize(
    ("changes", "field", "value", "event"),
    [
        ({"status": "pending"}, "status", "pending", ("status", "new", "pending")),
        ({"priority": "urgent"}, "priority", "urgent", ("priority", "normal", "urgent")),
        ({"stage": "advocacy"}, "stage", "advocacy", ("stage", "unknown", "advocacy")),
    ],
)
def test_patch_changes_a_field_and_audits_it(
    client, caller, open_ticket, changes, field, value, event
):
    ticket_id = open_ticket()
    response = patch(client, caller, ticket_id, changes)

    assert response.status_code == 200
    body = response.get_json()
    assert body[field] == value
    last = body["events"][-1]
    assert (last["kind"], last["from"], last["to"]) == event
    assert last["actor"]["id"] == caller.id
    again = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()
    assert again[field] == value, "the change was committed"


def test_stage_set_through_the_api_keeps_what_intake_said(client, caller, open_ticket):
    ticket_id = open_ticket("chat", chosen_stage="discovery")
    body = patch(client, caller, ticket_id, {"stage": "purchase"}).get_json()
    assert (body["stage"], body["stage_source"]) == ("purchase", "api")
    assert body["intake_stage"] == "discovery"


def test_patch_assigns_and_unassigns(client, caller, open_ticket, setup, make_user):
    ticket_id = open_ticket()
    with setup():
        colleague = make_user(name="Colleague", email="col@helpdesk.test")
        colleague_id = colleague.id

    body = patch(client, caller, ticket_id, {"assignee": colleague_id}).get_json()
    assert body["assignee"] == {
        "id": colleague_id,
        "name": "Colleague",
        "email": "col@helpdesk.test",
    }
    assert (body["events"][-1]["kind"], body["events"][-1]["to"]) == (
        "assignee",
        "col@helpdesk.test",
    )
    body = patch(client, caller, ticket_id, {"assignee": None}).get_json()
    assert body["assignee"] is None
    assert (body["events"][-1]["from"], body["events"][-1]["to"]) == ("col@helpdesk.test", None)


def test_patch_several_fields_at_once(client, caller, open_ticket):
    ticket_id = open_ticket()
    body = patch(
        client, caller, ticket_id, {"status": "open", "priority": "low", "assignee": caller.id}
    ).get_json()
    assert (body["status"], body["priority"], body["assignee"]["id"]) == ("open", "low", caller.id)
    assert [e["kind"] for e in body["events"]] == ["created", "status", "priority", "assignee"]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"stage": "happiness"}, (422, "invalid_input")),
        ({"status": "done"}, (422, "invalid_input")),
        ({"priority": "high", "stage": "nope"}, (422, "invalid_input")),
        ({"assignee": 999}, (422, "invalid_input")),
        ({"status": 3}, (400, "invalid")),
        ({"assignee": "me"}, (400, "invalid")),
        ({"assignee": True}, (400, "invalid")),
        ({"subject": "New subject"}, (400, "invalid")),
        ("open", (400, "invalid")),
    ],
)
def test_patch_refusals_change_nothing(client, caller, open_ticket, changes, expected):
    ticket_id = open_ticket()
    assert error_of(patch(client, caller, ticket_id, changes)) == expected
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=caller.headers).get_json()
    assert (ticket["priority"], ticket["status"]) == ("normal", "new")
    assert [e["kind"] for e in ticket["events"]] == ["created"]


def test_patch_refuses_a_deactivated_assignee(client, caller, open_ticket, setup, make_user):
    ticket_id = open_ticket()
    with setup():
        gone = make_user(active=False)
        gone_id = gone.id
    assert error_of(patch(client, caller, ticket_id, {"assignee": gone_id})) == (422, "refused")


def test_patch_unknown_ticket_is_404(client, caller):
    assert error_of(patch(client, caller, 77, {"status": "open"})) == (404, "not_found")


# --- customers --------------------------------------------------------------------------------


def test_customer_list_searches_and_pages(client, caller, open_ticket):
    open_ticket(sender="ada@customer.test", sender_name="Ada Lovelace")
    open_ticket(sender="grace@navy.test", sender_name="Grace Hopper")
    open_ticket("sms", sender="+15550003000")

    body = client.get("/api/v1/customers?limit=2", headers=caller.headers).get_json()
    assert [c["name"] for c in body["items"]] == ["+15550003000", "Grace Hopper"]
    rest = client.get(
        f"/api/v1/customers?limit=2&cursor={body['next_cursor']}", headers=caller.headers
    ).get_json()
    assert [c["name"] for c in rest["items"]] == ["Ada Lovelace"]
    assert rest["next_cursor"] is None

    found = client.get("/api/v1/customers?q=navy", headers=caller.headers).get_json()
    assert [c["identities"] for c in found["items"]] == [
        [
            {
                "id": ANY,
                "kind": "email",
                "value": "grace@navy.test",
                "verified": True,
                "opted_out_at": None,
                "opt_out_reason": None,
            }
        ]
    ]
    assert error_of(client.get("/api/v1/customers?cursor=%%%", headers=caller.headers)) == (
        400,
        "invalid",
    )


def test_customer_detail_lists_their_tickets_newest_first(client, caller, open_ticket, setup):
    older = open_ticket(sender="ada@customer.test", sender_name="Ada", received_at=at(1))
    newer = open_ticket(sender="ada@customer.test", subject="Again", received_at=at(4))
    open_ticket(sender="someone@else.test", received_at=at(2))
    with setup():
        customer_id = db.session.get(Ticket, older).customer_id

    body = client.get(f"/api/v1/customers/{customer_id}", headers=caller.headers).get_json()
    assert body["id"] == customer_id
    assert body["name"] == "Ada"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["created_at"])
    assert body["identities"] == [
        {
            "id": ANY,
            "kind": "email",
            "value": "ada@customer.test",
            "verified": True,
            "opted_out_at": None,
            "opt_out_reason": None,
        }
    ]
    assert [t["id"] for t in body["tickets"]] == [newer, older]
    assert body["tickets"][0]["subject"] == "Again"


def test_unknown_customer_is_404(client, caller):
    assert error_of(client.get("/api/v1/customers/5", headers=caller.headers)) == (
        404,
        "not_found",
    )


# --- routing errors and the OpenAPI document --------------------------------------------------


def test_unknown_routes_and_methods_under_the_api_answer_json(client, caller, open_ticket):
    ticket_id = open_ticket()
    assert error_of(client.get("/api/v1/nothing-here", headers=caller.headers)) == (
        404,
        "not_found",
    )
    assert error_of(client.get("/api/v1/tickets/abc", headers=caller.headers)) == (
        404,
        "not_found",
    )
    response = client.put(f"/api/v1/tickets/{ticket_id}", headers=caller.headers)
    assert error_of(response) == (405, "method_not_allowed")
    assert "PATCH" in response.headers["Allow"]


def test_routing_errors_elsewhere_are_left_alone(client):
    response = client.get("/not-the-api")
    assert response.status_code == 404
    assert not response.is_json


def test_openapi_document_is_public(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert document["security"] == [{"bearer": []}]


def test_openapi_document_describes_exactly_the_routes(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {
        (path, method)
        for path, item in document["paths"].items()
        for method in item
        if method in {"get", "put", "post", "patch", "delete"}
    }
    assert served == described
