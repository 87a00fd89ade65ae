"""Tags: agents put them on tickets; the queue filters by them; exports and events carry them."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Role, Tag, Ticket, User
from helpdesk.tickets import queries, service
from helpdesk.tickets.errors import InvalidInput


def ticket_of(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def test_a_tag_is_named_one_way_and_added_once(ctx, open_ticket, make_user):
    agent = make_user()
    ticket_id = open_ticket()
    ticket = ticket_of(ticket_id)
    version = ticket.version

    assert service.add_tag(ticket, agent, "  Beta   Tester ") == "beta-tester"
    assert service.add_tag(ticket, agent, "beta-tester") == "beta-tester"  # there already
    db.session.commit()

    ticket = ticket_of(ticket_id)
    assert [tag.name for tag in ticket.tags] == ["beta-tester"]
    assert [(e.kind, e.from_value, e.to_value) for e in ticket.events if e.kind == "tag"] == [
        ("tag", None, "beta-tester")
    ]
    assert ticket.version == version + 1
    assert db.session.scalars(select(Tag.name)).all() == ["beta-tester"]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "a tag needs a name"),
        ("refund,vip", "is no tag"),
        ("-draft", "is no tag"),
        ("x" * 51, "at most 50 characters"),
    ],
)
def test_names_that_are_no_tags_are_refused(ctx, open_ticket, make_user, text, why):
    ticket = ticket_of(open_ticket())
    with pytest.raises(InvalidInput, match=why):
        service.add_tag(ticket, make_user(), text)


def test_a_tag_taken_off_is_recorded_and_stays_known_to_other_tickets(ctx, open_ticket, make_user):
    agent = make_user()
    first, second = ticket_of(open_ticket()), ticket_of(open_ticket(sender="bo@customer.test"))
    for ticket in (first, second):
        service.add_tag(ticket, agent, "refund")
    service.add_tag(first, agent, "vip")
    db.session.commit()

    assert service.remove_tag(first, agent, "REFUND") == "refund"
    db.session.commit()
    assert [tag.name for tag in ticket_of(first.id).tags] == ["vip"]
    assert [tag.name for tag in ticket_of(second.id).tags] == ["refund"]
    assert ticket_of(first.id).events[-1].from_value == "refund"
    assert service.known_tags() == ["refund", "vip"]  # the most used first


def test_the_queue_filter_finds_tickets_with_any_of_the_tags(ctx, open_ticket, make_user):
    agent = make_user()
    refund = open_ticket(sender="a@customer.test")
    vip = open_ticket(sender="b@customer.test")
    open_ticket(sender="c@customer.test")
    service.add_tag(ticket_of(refund), agent, "refund")
    service.add_tag(ticket_of(vip), agent, "vip")
    db.session.commit()

    def found(tag: str) -> set[int]:
        filters = queries.TicketFilter.from_args({"tag": tag}, me=agent.id)
        return {ticket.id for ticket in queries.ticket_page(filters).items}

    assert found("refund") == {refund}
    assert found("VIP,refund") == {refund, vip}
    assert found("nobody-uses-this") == set()
    with pytest.raises(queries.InvalidFilter, match="tag:"):
        found("a;b")


def test_agents_add_and_remove_tags_on_the_ticket_page(client, login, open_ticket, app):
    login(name="Ada Agent")
    ticket_id = open_ticket()
    added = client.post(f"/tickets/{ticket_id}/tags", data={"name": "Refund"})
    assert added.status_code == 302
    page = client.get(f"/tickets/{ticket_id}").text
    assert 'aria-label="Remove tag refund"' in page
    assert "tagged it <b>refund</b>" in page
    queue = client.get("/tickets?tag=refund").text
    assert f"/tickets/{ticket_id}" in queue and 'class="tag"' in queue

    refused = client.post(f"/tickets/{ticket_id}/tags", data={"name": "a,b"}, follow_redirects=True)
    assert "Tag not changed: &#39;a,b&#39; is no tag" in refused.text

    client.post(f"/tickets/{ticket_id}/tags", data={"name": "refund", "remove": "1"})
    page = client.get(f"/tickets/{ticket_id}").text
    assert 'aria-label="Remove tag refund"' not in page
    assert "removed the tag <b>refund</b>" in page
    with app.app_context():
        assert ticket_of(ticket_id).tags == []


def test_the_tickets_export_has_their_tags(client, setup, open_ticket, make_user):
    ticket_id = open_ticket()
    with setup():
        manager = make_user(role=Role.MANAGER)
        email = manager.email
        ticket = db.session.get(Ticket, ticket_id)
        for name in ("vip", "refund"):
            service.add_tag(ticket, db.session.get(User, manager.id), name)
        day = ticket.created_at.date().isoformat()
    client.post("/login", data={"email": email, "password": "correct horse battery"})
    export = client.get(f"/reports/stages-tickets.csv?from={day}&to={day}").text
    rows = list(csv.DictReader(io.StringIO(export)))
    assert [row["tags"] for row in rows] == ["refund,vip"]


def test_the_api_sets_filters_and_shows_tags(client, setup, open_ticket, make_user, make_token):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    tagged, other = open_ticket(), open_ticket(sender="bo@customer.test")
    url = f"/api/v1/tickets/{tagged}"

    answer = client.patch(url, json={"tags": ["VIP", "refund", "vip"]}, headers=headers)
    assert answer.status_code == 200
    assert answer.get_json()["tags"] == ["refund", "vip"]
    listed = client.get("/api/v1/tickets?tag=vip", headers=headers).get_json()["items"]
    assert [item["id"] for item in listed] == [tagged]
    assert other not in [
        i["id"]
        for i in client.get("/api/v1/tickets?tag=refund,vip", headers=headers).get_json()["items"]
    ]

    answer = client.patch(url, json={"tags": ["refund"]}, headers=headers).get_json()
    assert answer["tags"] == ["refund"]
    assert [(e["from"], e["to"]) for e in answer["events"] if e["kind"] == "tag"] == [
        (None, "vip"),  # in the order sent
        (None, "refund"),
        ("vip", None),
    ]
    refused = client.patch(url, json={"tags": ["a,b"]}, headers=headers)
    assert refused.status_code == 422
    assert client.patch(url, json={"tags": []}, headers=headers).get_json()["tags"] == []
