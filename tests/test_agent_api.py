"""What an agent does on the workspace, done over the API: macros, saved views, tags, customers,
a ticket's files and its messages a page at a time, under the same rules as the pages."""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from channels.base import InboundAttachment
from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import (
    ApiToken,
    AuditEvent,
    Customer,
    Message,
    Role,
    SavedView,
    Ticket,
    TicketEvent,
    TokenScope,
    User,
)
from helpdesk.tickets import service


@dataclass(frozen=True)
class Caller:
    id: int
    headers: dict[str, str]


@pytest.fixture
def person(setup, make_user, make_token):
    """``person(role)``: a new user with a token, as a Caller."""

    def build(role: Role = Role.AGENT, **fields) -> Caller:
        with setup():
            user = make_user(role=role, **fields)
            return Caller(user.id, {"Authorization": f"Bearer {make_token(user)}"})

    return build


@pytest.fixture
def agent(person) -> Caller:
    return person(Role.AGENT, name="Ada Agent")


@pytest.fixture
def admin(person) -> Caller:
    return person(Role.ADMIN, name="Sam Admin")


def call(client, caller: Caller, method: str, url: str, body=None):
    return client.open(f"/api/v1{url}", method=method, json=body, headers=caller.headers)


def refused(response, status: int, code: str, *fields: str) -> str:
    """The refusal's message, once its status, code and named fields are as expected."""
    error = response.get_json()["error"]
    assert (response.status_code, error["code"]) == (status, code), error
    for field in fields:
        assert field in error["details"]["fields"], error
    return error["message"]


def version_of(ticket_id: int) -> int:
    return db.session.get(Ticket, ticket_id).version


# --- macros -----------------------------------------------------------------------------------


def test_an_agent_reads_changes_and_deletes_their_own_macro(client, setup, agent):
    made = call(
        client,
        agent,
        "POST",
        "/macros",
        {"name": "Refund sent", "text": "Hi {{ customer.first_name }}", "status": "solved"},
    )
    assert made.status_code == 201
    macro_id = made.get_json()["id"]
    shown = call(client, agent, "GET", f"/macros/{macro_id}").get_json()
    assert (shown["name"], shown["status"], shown["shared"]) == ("Refund sent", "solved", False)

    changed = call(
        client,
        agent,
        "PATCH",
        f"/macros/{macro_id}",
        {"name": "Refund on its way", "status": None, "tags": ["refund"]},
    )
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    # Only what was sent changed; null takes the status action off.
    assert (body["name"], body["text"], body["status"]) == (
        "Refund on its way",
        "Hi {{ customer.first_name }}",
        None,
    )
    assert body["tags"] == ["refund"] and body["use_count"] == 0
    with setup():
        assert db.session.scalar(select(func.count()).where(AuditEvent.action == "macro.changed"))

    assert call(client, agent, "DELETE", f"/macros/{macro_id}").status_code == 204
    gone = call(client, agent, "GET", f"/macros/{macro_id}")
    refused(gone, 404, "not_found")


def test_another_agents_macro_is_not_found_and_shared_ones_are_for_admins_to_change(
    client, agent, admin, person
):
    other = person(Role.AGENT)
    mine = call(client, agent, "POST", "/macros", {"name": "Mine", "text": "Hello"}).get_json()
    for method, body in (("GET", None), ("PATCH", {"name": "Taken"}), ("DELETE", None)):
        refused(call(client, other, method, f"/macros/{mine['id']}", body), 404, "not_found")
    # Not even an admin reaches into an agent's own macros, as on the pages.
    refused(call(client, admin, "GET", f"/macros/{mine['id']}"), 404, "not_found")

    shared = call(
        client, admin, "POST", "/macros", {"name": "Hours", "text": "9-5", "shared": True}
    ).get_json()
    assert call(client, agent, "GET", f"/macros/{shared['id']}").get_json()["shared"] is True
    refused(
        call(client, agent, "PATCH", f"/macros/{shared['id']}", {"text": "24/7"}), 403, "forbidden"
    )
    refused(call(client, agent, "DELETE", f"/macros/{shared['id']}"), 403, "forbidden")
    changed = call(client, admin, "PATCH", f"/macros/{shared['id']}", {"text": "24/7"})
    assert changed.get_json()["text"] == "24/7"
    assert call(client, admin, "DELETE", f"/macros/{shared['id']}").status_code == 204


def test_a_macro_change_the_rules_refuse_changes_nothing(client, agent, setup):
    macro_id = call(client, agent, "POST", "/macros", {"name": "Hi", "text": "Hi"}).get_json()["id"]
    url = f"/macros/{macro_id}"
    refused(call(client, agent, "PATCH", url, {"colour": "red"}), 400, "invalid", "colour")
    refused(call(client, agent, "PATCH", url, {"name": 7}), 400, "invalid", "name")
    placeholder = call(client, agent, "PATCH", url, {"text": "Hi {{ customer.password }}"})
    assert "customer.password" in refused(placeholder, 422, "invalid_input")
    refused(call(client, agent, "PATCH", url, {"status": "bogus"}), 422, "invalid_input")
    refused(call(client, agent, "PATCH", url, {"assignee": 999999}), 422, "invalid_input")
    assert call(client, agent, "GET", url).get_json()["text"] == "Hi"


def test_writing_macros_and_views_needs_the_admin_scope(client, setup, agent):
    with setup():
        token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == agent.id))
        token.scope = TokenScope.WRITE
    for method, url, body in (
        ("POST", "/macros", {"name": "Hi", "text": "Hi"}),
        ("POST", "/views", {"name": "Mine"}),
    ):
        message = refused(call(client, agent, method, url, body), 403, "insufficient-scope")
        assert "admin" in message
    assert call(client, agent, "GET", "/views").status_code == 200


# --- saved views ------------------------------------------------------------------------------


@pytest.fixture
def tickets(open_ticket, setup, agent) -> dict[str, int]:
    """Three open tickets, two of them the agent's, one tagged vip."""
    made = {
        name: open_ticket(sender=f"{name}@customer.test", subject=f"About {name}")
        for name in ("ann", "bob", "cid")
    }
    with setup():
        me = db.session.get(User, agent.id)
        for name in ("ann", "bob"):
            ticket = db.session.get(Ticket, made[name])
            service.set_status(ticket, me, "open")
            service.assign(ticket, me, me)
    return made


def test_a_view_is_saved_listed_counted_paged_changed_and_deleted(client, agent, tickets):
    made = call(
        client,
        agent,
        "POST",
        "/views",
        {"name": "  My   open work ", "filters": {"status": "open", "assignee": "me"}},
    )
    assert made.status_code == 201, made.get_json()
    view = made.get_json()
    assert view["name"] == "My open work"
    assert view["filters"] == {"status": "open", "assignee": "me"}
    assert (view["count"], view["count_capped"], view["team"]) == (2, False, None)
    [listed] = call(client, agent, "GET", "/views").get_json()["items"]
    assert listed == view

    url = f"/views/{view['id']}/tickets"
    first = call(client, agent, "GET", f"{url}?limit=1").get_json()
    second = call(client, agent, "GET", f"{url}?limit=1&cursor={first['next_cursor']}").get_json()
    assert [t["id"] for t in first["items"] + second["items"]] == [tickets["bob"], tickets["ann"]]
    assert second["next_cursor"] is None

    changed = call(
        client,
        agent,
        "PATCH",
        f"/views/{view['id']}",
        {"name": "Everything", "filters": {"status": "new,open", "sort": "priority"}},
    ).get_json()
    assert changed["filters"] == {"status": "new,open", "sort": "priority"}
    assert (changed["name"], changed["count"]) == ("Everything", 3)
    renamed = call(client, agent, "PATCH", f"/views/{view['id']}", {"name": "All"}).get_json()
    assert renamed["filters"] == changed["filters"]

    assert call(client, agent, "DELETE", f"/views/{view['id']}").status_code == 204
    refused(call(client, agent, "GET", f"/views/{view['id']}"), 404, "not_found")
    assert call(client, agent, "GET", "/views").get_json()["items"] == []


def test_views_follow_the_pages_rules_on_who_sees_and_changes_them(
    client, setup, agent, admin, person, tickets
):
    teammate, stranger = person(Role.AGENT), person(Role.AGENT)
    with setup():
        support = teams.create_team("Support")
        teams.set_members(support, [db.session.get(User, u.id) for u in (agent, teammate)])
        billing = teams.create_team("Billing")
        support_id, billing_id = support.id, billing.id
    personal = call(client, agent, "POST", "/views", {"name": "Mine"}).get_json()
    for method, url in (
        ("GET", f"/views/{personal['id']}"),
        ("GET", f"/views/{personal['id']}/tickets"),
        ("PATCH", f"/views/{personal['id']}"),
        ("DELETE", f"/views/{personal['id']}"),
    ):
        body = {"name": "Taken"} if method == "PATCH" else None
        refused(call(client, stranger, method, url, body), 404, "not_found")

    not_my_team = call(client, agent, "POST", "/views", {"name": "Bills", "team": billing_id})
    assert "Billing" in refused(not_my_team, 400, "invalid", "team")
    refused(
        call(client, agent, "POST", "/views", {"name": "X", "team": 999999}), 422, "invalid_input"
    )
    shared = call(client, agent, "POST", "/views", {"name": "Team", "team": support_id})
    shared = shared.get_json()
    assert shared["team"] == {"id": support_id, "name": "Support"}
    assert [v["id"] for v in call(client, teammate, "GET", "/views").get_json()["items"]] == [
        shared["id"]
    ]
    refused(
        call(client, teammate, "PATCH", f"/views/{shared['id']}", {"name": "Ours"}),
        403,
        "forbidden",
    )
    refused(call(client, teammate, "DELETE", f"/views/{shared['id']}"), 403, "forbidden")
    renamed = call(client, admin, "PATCH", f"/views/{shared['id']}", {"name": "Support queue"})
    assert renamed.get_json()["name"] == "Support queue"
    # An admin shares with any team.
    made = call(client, admin, "POST", "/views", {"name": "Bills", "team": billing_id})
    assert made.status_code == 201


def test_filters_a_view_cannot_keep_are_refused_naming_them(client, setup, agent, tickets):
    for filters, field in (
        ({"status": "bogus"}, "filters"),
        ({"assignee": "bob"}, "filters.assignee"),
        ({"colour": "red"}, "filters.colour"),
        ({"created_from": "May 1"}, "filters.created_from"),
        ({"sort": "loudest"}, "filters.sort"),
    ):
        response = call(client, agent, "POST", "/views", {"name": "Bad", "filters": filters})
        refused(response, 400, "invalid", field)
    refused(call(client, agent, "POST", "/views", {"name": " "}), 400, "invalid", "name")
    refused(call(client, agent, "POST", "/views", {"filters": {}}), 400, "invalid", "name")
    view = call(client, agent, "POST", "/views", {"name": "Fine"}).get_json()
    response = call(client, agent, "PATCH", f"/views/{view['id']}", {"filters": {"has": "x"}})
    refused(response, 400, "invalid", "filters")
    with setup():
        assert db.session.scalar(select(func.count()).select_from(SavedView)) == 1
        # A stored filter that no longer makes sense is said so, never read as "everything".
        db.session.get(SavedView, view["id"]).query = "stage=gone"
    broken = call(client, agent, "GET", f"/views/{view['id']}/tickets")
    assert "stage" in refused(broken, 422, "refused")
    assert call(client, agent, "GET", f"/views/{view['id']}").get_json()["count"] is None


# --- tags -------------------------------------------------------------------------------------


def test_two_callers_putting_one_tag_on_at_once_both_succeed(app, setup, agent, open_ticket):
    """Both see the ticket with the tag; neither trips over the other's row (it was a 500)."""
    ticket_id = open_ticket()
    start = threading.Barrier(2)
    answers: list[int] = []

    def put() -> None:
        client = app.test_client()
        start.wait()
        answers.append(call(client, agent, "PUT", f"/tickets/{ticket_id}/tags/vip").status_code)

    threads = [threading.Thread(target=put) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    with setup():
        kinds = db.session.scalars(
            select(TicketEvent.to_value).where(
                TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "tag"
            )
        ).all()
        assert kinds == ["vip"]


def test_a_tag_goes_on_and_off_once_each_moving_the_version(client, setup, agent, open_ticket):
    ticket_id = open_ticket()
    with setup():
        before = version_of(ticket_id)
    url = f"/tickets/{ticket_id}/tags/{quote('Beta tester')}"
    put = call(client, agent, "PUT", url)
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["tags"] == ["beta-tester"]
    assert put.get_json()["version"] == before + 1
    assert put.headers["ETag"] == f'"{ticket_id}-{before + 1}"'
    again = call(client, agent, "PUT", f"/tickets/{ticket_id}/tags/beta-tester")
    assert again.get_json()["version"] == before + 1  # there already: nothing written

    tags = call(client, agent, "GET", "/tags").get_json()
    assert tags == {"items": [{"name": "beta-tester", "tickets": 1}], "next_cursor": None}

    off = call(client, agent, "DELETE", f"/tickets/{ticket_id}/tags/beta-tester")
    assert (off.get_json()["tags"], off.get_json()["version"]) == ([], before + 2)
    assert off.headers["ETag"] == f'"{ticket_id}-{before + 2}"'
    gone = call(client, agent, "DELETE", f"/tickets/{ticket_id}/tags/beta-tester")
    assert gone.get_json()["version"] == before + 2
    with setup():
        events = db.session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "tag")
        ).all()
        assert [(e.from_value, e.to_value, e.actor_id) for e in events] == [
            (None, "beta-tester", agent.id),
            ("beta-tester", None, agent.id),
        ]
    assert call(client, agent, "GET", "/tags").get_json()["items"] == []


def test_a_tag_that_is_no_tag_is_refused_and_an_unknown_ticket_not_found(
    client, agent, open_ticket
):
    ticket_id = open_ticket()
    for name in ("a,b", "x" * 51, "%20"):
        refused(
            call(client, agent, "PUT", f"/tickets/{ticket_id}/tags/{name}"), 400, "invalid", "tag"
        )
    refused(call(client, agent, "PUT", "/tickets/999999/tags/vip"), 404, "not_found")


# --- customers --------------------------------------------------------------------------------


def test_a_customer_is_recorded_by_hand_with_unverified_identities(client, setup, agent):
    made = call(
        client,
        agent,
        "POST",
        "/customers",
        {
            "name": " Ann  Lee ",
            "identities": [
                {"kind": "email", "value": "Ann@Example.com"},
                {"kind": "phone", "value": "+1 (555) 010-1234"},
            ],
        },
    )
    assert made.status_code == 201, made.get_json()
    customer = made.get_json()
    assert customer["name"] == "Ann Lee" and customer["tickets"] == []
    assert [(i["kind"], i["value"], i["verified"]) for i in customer["identities"]] == [
        ("email", "ann@example.com", False),
        ("phone", "+15550101234", False),
    ]
    assert call(client, agent, "GET", f"/customers/{customer['id']}").get_json() == customer
    with setup():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.target_id == str(customer["id"]))
        ).all()
        assert "customer.created" in actions and "customer.identity_added" in actions
    named_only = call(client, agent, "POST", "/customers", {"name": "Bo"})
    assert named_only.status_code == 201


def test_an_identity_another_customer_holds_is_refused_and_nothing_is_made(
    client, setup, agent, open_ticket
):
    ticket_id = open_ticket(sender="ann@customer.test")
    with setup():
        holder = db.session.get(Ticket, ticket_id).customer_id
        customers = db.session.scalar(select(func.count()).select_from(Customer))
    response = call(
        client,
        agent,
        "POST",
        "/customers",
        {"name": "Ann", "identities": [{"kind": "email", "value": "ANN@customer.test"}]},
    )
    refused(response, 409, "refused")
    assert response.get_json()["error"]["details"] == {"customer": holder}
    with setup():
        assert db.session.scalar(select(func.count()).select_from(Customer)) == customers


def test_a_customer_without_anything_or_with_a_bad_identity_is_refused(client, agent):
    refused(call(client, agent, "POST", "/customers", {}), 422, "invalid_input")
    bad_kind = {"identities": [{"kind": "fax", "value": "123"}]}
    refused(
        call(client, agent, "POST", "/customers", bad_kind), 400, "invalid", "identities.0.kind"
    )
    bad_phone = {"name": "X", "identities": [{"kind": "phone", "value": "call me"}]}
    assert "not a phone number" in refused(
        call(client, agent, "POST", "/customers", bad_phone), 422, "invalid_input"
    )
    refused(call(client, agent, "POST", "/customers", {"name": "x" * 201}), 400, "invalid", "name")


# --- files and messages -----------------------------------------------------------------------


def test_a_tickets_files_are_listed_and_downloaded(client, setup, agent, open_ticket):
    receipt = InboundAttachment("receipt.pdf", "application/pdf", b"%PDF receipt")
    ticket_id = open_ticket(attachments=(receipt,))
    sent = client.post(
        f"/api/v1/tickets/{ticket_id}/replies",
        headers=agent.headers,
        content_type="multipart/form-data",
        data={"text": "Label attached.", "files": [(io.BytesIO(b"%PDF label"), "label.pdf")]},
    )
    assert sent.status_code == 201, sent.get_json()
    files = call(client, agent, "GET", f"/tickets/{ticket_id}/attachments").get_json()["items"]
    with setup():
        first, reply = db.session.get(Ticket, ticket_id).messages
        first_id, reply_id = first.id, reply.id
    assert [(f["filename"], f["message_id"], f["size"]) for f in files] == [
        ("receipt.pdf", first_id, len(b"%PDF receipt")),
        ("label.pdf", reply_id, len(b"%PDF label")),
    ]
    downloads = [client.get(f["download_url"], headers=agent.headers) for f in files]
    assert [d.data for d in downloads] == [b"%PDF receipt", b"%PDF label"]
    assert client.get(files[0]["download_url"]).status_code == 401
    refused(call(client, agent, "GET", "/tickets/999999/attachments"), 404, "not_found")
    refused(call(client, agent, "GET", "/attachments/999999"), 404, "not_found")


def test_a_note_takes_no_files_as_on_the_ticket_page(client, setup, agent, open_ticket):
    ticket_id = open_ticket()
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/notes",
        headers=agent.headers,
        content_type="multipart/form-data",
        data={"text": "Scan", "files": [(io.BytesIO(b"%PDF"), "scan.pdf")]},
    )
    refused(response, 400, "invalid", "body")
    with setup():
        assert len(db.session.get(Ticket, ticket_id).messages) == 1


def test_a_long_thread_is_read_a_page_at_a_time_oldest_first(client, setup, agent, open_ticket):
    ticket_id = open_ticket(text="First")
    for n in range(4):
        call(client, agent, "POST", f"/tickets/{ticket_id}/notes", {"text": f"Note {n}"})
    whole = call(client, agent, "GET", f"/tickets/{ticket_id}").get_json()["messages"]
    read, cursor = [], None
    while True:
        query = f"?limit=2&cursor={cursor}" if cursor else "?limit=2"
        page = call(client, agent, "GET", f"/tickets/{ticket_id}/messages{query}").get_json()
        assert len(page["items"]) <= 2
        read += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert [m["text"] for m in read] == ["First", "Note 0", "Note 1", "Note 2", "Note 3"]
    assert read == whole
    refused(
        call(client, agent, "GET", f"/tickets/{ticket_id}/messages?cursor=nope"), 400, "invalid"
    )
    refused(
        call(client, agent, "GET", f"/tickets/{ticket_id}/messages?limit=0"),
        400,
        "invalid",
        "limit",
    )
    refused(call(client, agent, "GET", "/tickets/999999/messages"), 404, "not_found")
    with setup():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 5
