"""Macros: a reply text with placeholders and ticket changes, applied from the ticket page or
the API; shared ones kept by admins, personal ones by each agent."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Macro, Message, Ticket, TicketEvent
from helpdesk.tickets import service
from helpdesk.tickets.errors import TicketError

GREETING = (
    "Hi {{ customer.first_name }}, about #{{ ticket.number }} ({{ ticket.stage }}): "
    "{{ customer.name }} is in good hands. {{ agent.first_name }}"
)


def test_a_macro_fills_in_its_placeholders_and_makes_its_changes(ctx, open_ticket, make_user):
    agent = make_user(name="Sam Rivera")
    admin = make_user(role="admin")
    ticket = db.session.get(Ticket, open_ticket(sender_name="Ada Lovelace"))
    macro = service.create_macro(
        None,
        service.MacroFields(
            name="Refund issued",
            text=GREETING,
            status="pending",
            priority="high",
            stage="purchase",
            assignee=admin,
            tags=("Refund", "vip"),
        ),
    )

    text = service.apply_macro(macro, ticket, agent)
    db.session.commit()

    assert text == (
        f"Hi Ada, about #{ticket.number} (Purchase): Ada Lovelace is in good hands. Sam"
    )
    assert (ticket.status.value, ticket.priority.value, ticket.stage.value) == (
        "pending",
        "high",
        "purchase",
    )
    assert ticket.assignee_id == admin.id
    assert [tag.name for tag in ticket.tags] == ["refund", "vip"]
    kinds = [(e.kind, e.to_value, e.actor_id) for e in ticket.events]
    assert ("macro", "Refund issued", agent.id) in kinds
    assert ("status", "pending", agent.id) in kinds
    assert ("tag", "refund", agent.id) in kinds
    assert macro.use_count == 1
    service.apply_macro(macro, ticket, agent)
    assert macro.use_count == 2


def test_a_customer_without_a_name_is_greeted_all_the_same(ctx, open_ticket, make_user):
    ticket = db.session.get(Ticket, open_ticket(sender="bob@customer.test"))
    macro = service.create_macro(
        None, service.MacroFields(name="Hello", text="Hi {{ customer.first_name }}!")
    )
    assert service.apply_macro(macro, ticket, make_user()) == "Hi there!"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Dear {{ customer.email }}", "{{ customer.email }}"),
        ("{{ ticket.__class__ }}", "{{ ticket.__class__ }}"),
        ("{{ customer.name.upper() }}", "{{ customer.name.upper }}"),
        ("{{ config }}", "{{ config }}"),
        ("{{ ticket }}", "{{ ticket }}"),
    ],
)
def test_an_unknown_placeholder_is_refused_when_saved_by_name(ctx, text, named):
    with pytest.raises(service.InvalidMacro) as refused:
        service.create_macro(None, service.MacroFields(name="Bad", text=text))
    assert refused.value.field == "text"
    assert f"unknown placeholder {named}" in str(refused.value)


def test_the_sandbox_reaches_nothing_behind_the_placeholders(ctx, open_ticket, make_user):
    ticket = db.session.get(Ticket, open_ticket())
    # Written past the checks (an old row, a hand edit): rendering still refuses.
    macro = Macro(name="Sneaky", text="{{ ticket.__class__.__mro__ }}", tags=[])
    db.session.add(macro)
    db.session.flush()
    with pytest.raises(TicketError, match="unsafe"):
        service.apply_macro(macro, ticket, make_user())
    with pytest.raises(service.InvalidMacro, match="arithmetic"):
        service.create_macro(None, service.MacroFields(name="Big", text="{{ 'x' * 999999999 }}"))


def test_a_macro_needs_a_name_and_something_to_do(ctx):
    with pytest.raises(service.InvalidMacro) as nameless:
        service.create_macro(None, service.MacroFields(name="  ", text="Hi"))
    assert nameless.value.field == "name"
    with pytest.raises(service.InvalidMacro) as empty:
        service.create_macro(None, service.MacroFields(name="Nothing"))
    assert empty.value.field == "text"
    with pytest.raises(service.InvalidMacro) as status:
        service.create_macro(None, service.MacroFields(name="X", status="gone"))
    assert status.value.field == "status"


# --- web ---------------------------------------------------------------------------------------


def test_an_admin_keeps_shared_macros_that_every_agent_applies(client, login, open_ticket, app):
    login("admin")
    saved = client.post(
        "/admin/macros",
        data={"name": "Ask for order number", "text": "Hi {{ customer.first_name }}", "tags": ""},
    )
    assert saved.status_code == 302
    page = client.get("/admin/macros").text
    assert "Ask for order number" in page and "0 times" in page

    client.post("/logout")
    login("agent")
    ticket_id = open_ticket(sender_name="Ada Lovelace")
    assert "Ask for order number" in client.get("/macros").text
    ticket_page = client.get(f"/tickets/{ticket_id}").text
    assert "Ask for order number" in ticket_page
    with app.app_context():
        macro_id = db.session.scalar(select(Macro.id))
    # Only admins change shared ones.
    client.post(f"/macros/{macro_id}", data={"name": "Mine now", "text": "x"})
    with app.app_context():
        assert db.session.get(Macro, macro_id).name == "Ask for order number"


def test_an_agent_keeps_personal_macros_no_other_agent_sees(client, login, setup, make_user):
    login("agent")
    saved = client.post(
        "/macros", data={"name": "My sign-off", "text": "Cheers, {{ agent.first_name }}"}
    )
    assert saved.status_code == 302
    assert "My sign-off" in client.get("/macros").text
    with setup():
        macro_id = db.session.scalar(select(Macro.id))

    client.post("/logout")
    login("agent")
    assert "My sign-off" not in client.get("/macros").text
    assert client.get(f"/macros/{macro_id}").status_code == 404


def test_form_errors_stand_next_to_their_fields(client, login):
    login("agent")
    page = client.post(
        "/macros", data={"name": "Oops", "text": "Dear {{ customer.surname }}", "tags": "a/b"}
    )
    assert page.status_code == 400
    assert 'id="text-error"' in page.text
    assert "unknown placeholder {{ customer.surname }}" in page.text
    nameless = client.post("/macros", data={"name": "", "text": "Hi"})
    assert 'id="name-error"' in nameless.text


def test_applying_on_the_ticket_page_fills_the_reply_box_without_sending(
    client, login, setup, open_ticket
):
    agent_id = login("agent", name="Sam Rivera")
    ticket_id = open_ticket(sender_name="Ada Lovelace")
    with setup():
        macro = service.create_macro(
            None,
            service.MacroFields(
                name="Shipping delay", text="Sorry {{ customer.first_name }}!", status="pending"
            ),
        )
        macro_id = macro.id

    page = client.post(f"/tickets/{ticket_id}/macro", data={"macro": str(macro_id)})

    assert page.status_code == 200
    assert "\nSorry Ada!</textarea>" in page.text
    # What the agent had written stays, the macro's text below it.
    kept = client.post(
        f"/tickets/{ticket_id}/macro", data={"macro": str(macro_id), "draft": "Hello again. "}
    )
    assert "\nHello again.\n\nSorry Ada!</textarea>" in kept.text
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status.value == "pending"
        assert db.session.scalar(select(Message).where(Message.author_id == agent_id)) is None
        assert db.session.get(Macro, macro_id).use_count == 2


def test_another_agents_macro_cannot_be_applied(client, login, setup, open_ticket, make_user):
    ticket_id = open_ticket()
    with setup():
        other = make_user()
        macro_id = service.create_macro(other, service.MacroFields(name="Theirs", text="Hi")).id
    login("agent")
    refused = client.post(f"/tickets/{ticket_id}/macro", data={"macro": str(macro_id)})
    assert refused.status_code == 400
    with setup():
        assert db.session.get(Macro, macro_id).use_count == 0


# --- API ---------------------------------------------------------------------------------------


@pytest.fixture
def api(setup, make_user, make_token):
    def headers(role: str = "agent") -> dict[str, str]:
        with setup():
            return {"Authorization": f"Bearer {make_token(make_user(role=role))}"}

    return headers


def test_the_api_lists_shared_and_own_macros(client, api, setup, make_user):
    agent = api()
    with setup():
        service.create_macro(None, service.MacroFields(name="Shared one", text="Hi"))
        service.create_macro(make_user(), service.MacroFields(name="Someone's", text="Hi"))
    made = client.post(
        "/api/v1/macros", json={"name": "Mine", "text": "Yo", "tags": ["vip"]}, headers=agent
    )
    assert made.status_code == 201
    assert made.get_json()["shared"] is False

    listed = client.get("/api/v1/macros", headers=agent).get_json()
    assert [m["name"] for m in listed["items"]] == ["Mine", "Shared one"]
    assert listed["next_cursor"] is None

    assert (
        client.post(
            "/api/v1/macros", json={"name": "X", "text": "Hi", "shared": True}, headers=agent
        ).status_code
        == 403
    )
    shared = client.post(
        "/api/v1/macros", json={"name": "X", "text": "Hi", "shared": True}, headers=api("admin")
    )
    assert shared.status_code == 201 and shared.get_json()["shared"] is True


def test_the_api_refuses_an_unknown_placeholder_by_name(client, api):
    refused = client.post(
        "/api/v1/macros", json={"name": "X", "text": "{{ agent.email }}"}, headers=api()
    )
    assert refused.status_code == 422
    assert "{{ agent.email }}" in refused.get_json()["error"]["message"]


def test_the_api_applies_a_macro_and_sends_it_when_asked(client, api, setup, open_ticket):
    headers = api()
    ticket_id = open_ticket(sender_name="Ada Lovelace")
    with setup():
        macro_id = service.create_macro(
            None,
            service.MacroFields(
                name="Thanks", text="Thanks {{ customer.first_name }}", stage="use"
            ),
        ).id

    applied = client.post(f"/api/v1/tickets/{ticket_id}/macros/{macro_id}", headers=headers)
    assert applied.status_code == 200
    body = applied.get_json()
    assert body["text"] == "Thanks Ada"
    assert body["message"] is None
    assert body["ticket"]["stage"] == "use" and body["ticket"]["stage_source"] == "api"
    assert applied.headers["ETag"]

    sent = client.post(
        f"/api/v1/tickets/{ticket_id}/macros/{macro_id}", json={"send": True}, headers=headers
    ).get_json()
    assert sent["message"]["text"] == "Thanks Ada"
    assert sent["message"]["direction"] == "outbound"
    with setup():
        assert db.session.get(Macro, macro_id).use_count == 2
        events = db.session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket_id)
        )
        assert list(events).count("macro") == 2

    missing = client.post(f"/api/v1/tickets/{ticket_id}/macros/999999", headers=headers)
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
