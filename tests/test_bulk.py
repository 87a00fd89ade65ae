"""Bulk changes: many tickets changed at once, each as if changed on its own page, with a
summary of what changed and what was refused, and why."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Priority, Ticket, TicketEvent, TicketStatus
from helpdesk.tickets import bulk, service
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.queries import TicketFilter


@pytest.fixture
def three(open_ticket) -> list[int]:
    return [open_ticket(sender=f"c{n}@customer.test", subject=f"Order {n}") for n in range(3)]


def _versions(ids: list[int]) -> dict[int, int]:
    db.session.expire_all()
    rows = db.session.execute(select(Ticket.id, Ticket.version).where(Ticket.id.in_(ids)))
    return {ticket_id: version for ticket_id, version in rows}


def _events(ticket_id: int, kind: str) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == kind)
    )


def test_chosen_tickets_change_each_once_with_an_event_per_change(ctx, three, make_user):
    ada = make_user(name="Ada")
    support = teams.create_team("Support")
    teams.set_members(support, [ada])
    before = _versions(three)

    result = bulk.apply_bulk(
        three,
        bulk.BulkChanges(
            status="pending",
            priority="high",
            team=support,
            assignee=ada,
            tags_add=("refund", "VIP"),
        ),
        ada,
    )
    db.session.commit()

    assert result.changed == three and result.refused == [] and result.unchanged == []
    assert _versions(three) == {ticket_id: before[ticket_id] + 1 for ticket_id in three}
    for ticket_id in three:
        ticket = db.session.get(Ticket, ticket_id)
        assert ticket.status == TicketStatus.PENDING and ticket.priority == Priority.HIGH
        assert ticket.team == support and ticket.assignee == ada
        assert sorted(tag.name for tag in ticket.tags) == ["refund", "vip"]
        for kind in ("status", "priority", "team", "assignee"):
            assert _events(ticket_id, kind) == 1
        assert _events(ticket_id, "tag") == 2


def test_a_filter_chooses_the_tickets_and_already_done_ones_stay_unchanged(ctx, three, make_user):
    ada = make_user()
    service.set_status(db.session.get(Ticket, three[0]), ada, "pending")
    service.add_tag(db.session.get(Ticket, three[2]), ada, "late")
    db.session.commit()

    result = bulk.apply_bulk(
        TicketFilter(statuses=(TicketStatus.NEW,)), bulk.BulkChanges(tags_add=("late",)), ada
    )
    db.session.commit()

    assert result.changed == [three[1]]
    assert result.unchanged == [three[2]]
    assert [tag.name for tag in db.session.get(Ticket, three[0]).tags] == []


def test_refusals_say_which_ticket_and_why_and_leave_it_untouched(ctx, three, make_user):
    ada, gone = make_user(), make_user(active=False, email="gone@helpdesk.test")
    closed = db.session.get(Ticket, three[0])
    service.set_status(closed, ada, "closed")
    db.session.commit()
    before = _versions(three)

    result = bulk.apply_bulk([*three, 999_999], bulk.BulkChanges(priority="urgent"), ada)
    assert [(r.ticket_id, r.reason) for r in result.refused] == [
        (three[0], bulk.CLOSED),
        (999_999, bulk.NOT_FOUND),
    ]
    assert result.refused[0].number == closed.number
    assert result.changed == three[1:]

    support = teams.create_team("Support")
    changes = bulk.BulkChanges(team=support, assignee=gone, tags_add=("x",))
    refused = bulk.apply_bulk(three[1:], changes, ada)
    db.session.commit()
    assert [r.reason for r in refused.refused] == [
        "gone@helpdesk.test is deactivated and cannot take tickets"
    ] * 2
    # The refused ticket took no part of the change (its team was set before the assignee
    # failed): no team, no tag, no event, no version step.
    assert db.session.get(Ticket, three[1]).team is None
    assert [tag.name for tag in db.session.get(Ticket, three[1]).tags] == []
    assert _events(three[1], "tag") == 0 and _events(three[1], "team") == 0
    assert _versions(three) == {three[0]: before[three[0]]} | {
        ticket_id: before[ticket_id] + 1 for ticket_id in three[1:]
    }


def test_a_closed_ticket_takes_tags_in_bulk(ctx, three, make_user):
    ada = make_user()
    service.set_status(db.session.get(Ticket, three[0]), ada, "closed")
    result = bulk.apply_bulk(three[:1], bulk.BulkChanges(tags_add=("recall",)), ada)
    assert result.changed == three[:1]


def test_more_than_the_limit_is_refused_before_anything_changes(ctx, three, make_user, monkeypatch):
    ada = make_user()
    monkeypatch.setattr(bulk, "MAX_TICKETS", 2)
    with pytest.raises(bulk.TooManyTickets, match="more than 2 tickets match this filter"):
        bulk.apply_bulk(TicketFilter(), bulk.BulkChanges(status="solved"), ada)
    with pytest.raises(bulk.TooManyTickets, match="3 tickets were chosen"):
        bulk.apply_bulk(three, bulk.BulkChanges(status="solved"), ada)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (bulk.BulkChanges(), "choose at least one change"),
        (bulk.BulkChanges(status="done"), "unknown status 'done'"),
        (bulk.BulkChanges(tags_add=("no,commas",)), "is no tag"),
    ],
)
def test_unusable_changes_are_refused_once_for_all(ctx, three, make_user, changes, message):
    with pytest.raises(InvalidInput, match=message):
        bulk.apply_bulk(three, changes, make_user())


def test_a_macro_applies_its_changes_and_one_with_a_text_is_refused(ctx, three, make_user):
    ada = make_user()
    solve = service.create_macro(None, service.MacroFields(name="Solve", status="solved"))
    reply = service.create_macro(None, service.MacroFields(name="Thanks", text="Thanks!"))
    with pytest.raises(InvalidInput, match="bulk changes send no replies"):
        bulk.apply_bulk(three, bulk.BulkChanges(macro=reply), ada)

    result = bulk.apply_bulk(three, bulk.BulkChanges(macro=solve), ada)
    db.session.commit()
    assert result.changed == three
    assert all(db.session.get(Ticket, t).status == TicketStatus.SOLVED for t in three)
    assert all(_events(t, "macro") == 1 for t in three)
    assert solve.use_count == 3


# --- the API ---------------------------------------------------------------------------------


@pytest.fixture
def bearer(setup, make_user, make_token) -> dict[str, str]:
    with setup():
        return {"Authorization": f"Bearer {make_token(make_user(name='Integration'))}"}


def test_the_api_changes_chosen_ids_and_says_what_happened(client, setup, bearer, three):
    with setup():
        service.set_status(db.session.get(Ticket, three[0]), None, "closed")
        team_id = teams.create_team("Returns").id
    response = client.post(
        "/api/v1/tickets/bulk",
        json={
            "ids": [*three, 424242],
            "changes": {"stage": "purchase", "team": team_id, "tags_add": ["recall"]},
        },
        headers=bearer,
    )
    assert response.status_code == 200, response.text
    assert response.json == {
        "changed": three[1:],
        "unchanged": [],
        "refused": [
            {"id": three[0], "reason": bulk.CLOSED},
            {"id": 424242, "reason": bulk.NOT_FOUND},
        ],
    }
    with setup():
        changed = db.session.get(Ticket, three[1])
        assert changed.stage_source.value == "api" and changed.team_id == team_id
        assert _events(three[1], "stage") == 1 and _events(three[1], "team") == 1


def test_the_api_takes_the_queue_filters(client, setup, bearer, three):
    with setup():
        ada = db.session.get(Ticket, three[1])
        service.add_tag(ada, None, "vip")
    response = client.post(
        "/api/v1/tickets/bulk",
        json={"filter": {"tag": "VIP", "status": "new"}, "changes": {"priority": "urgent"}},
        headers=bearer,
    )
    assert response.json == {"changed": [three[1]], "unchanged": [], "refused": []}


def test_the_api_refuses_more_than_the_limit_and_changes_nothing(
    client, setup, bearer, three, monkeypatch
):
    monkeypatch.setattr(bulk, "MAX_TICKETS", 2)
    response = client.post(
        "/api/v1/tickets/bulk", json={"filter": {}, "changes": {"status": "solved"}}, headers=bearer
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "too_many"
    assert "more than 2 tickets match this filter" in response.json["error"]["message"]
    with setup():
        assert {db.session.get(Ticket, t).status for t in three} == {TicketStatus.NEW}


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"changes": {"status": "solved"}}, 400, "send either ids or filter"),
        ({"ids": [1], "filter": {}, "changes": {"status": "solved"}}, 400, "either ids or"),
        ({"ids": [1], "changes": {}}, 400, "name at least one change"),
        ({"ids": list(range(1, 1002)), "changes": {"status": "solved"}}, 400, "at most 1000"),
        ({"filter": {"team": "ours"}, "changes": {"status": "solved"}}, 400, "filter.team"),
        ({"filter": {"stage": "moon"}, "changes": {"status": "solved"}}, 400, "stage must be"),
        ({"ids": [1], "changes": {"status": "done"}}, 422, "unknown status"),
        ({"ids": [1], "changes": {"macro": 99}}, 422, "no macro with id 99"),
        ({"ids": [1], "changes": {"assignee": 99}}, 422, "no user with id 99"),
    ],
)
def test_the_api_says_what_is_wrong_with_a_request(client, bearer, body, status, message):
    response = client.post("/api/v1/tickets/bulk", json=body, headers=bearer)
    assert response.status_code == status, response.text
    assert message in response.json["error"]["message"]


# --- the queue's bulk bar --------------------------------------------------------------------


def test_the_queue_changes_ticked_tickets_and_sums_up(client, login, setup, three):
    login()
    with setup():
        service.set_status(db.session.get(Ticket, three[0]), None, "closed")
        numbers = {t: db.session.get(Ticket, t).number for t in three}
    page = client.get("/tickets?status=new,closed")
    assert page.text.count('name="ids"') == 3
    response = client.post(
        "/tickets/bulk",
        data={"ids": three, "bulk-status": "pending", "bulk-query": "status=new%2Cclosed"},
    )
    assert response.status_code == 200
    assert "<strong>2</strong> tickets changed" in response.text
    assert "<strong>1</strong> refused" in response.text
    assert f"#{numbers[three[0]]}</a></td>\n        <td>Closed tickets are final" in response.text
    assert 'href="/tickets?status=new%2Cclosed"' in response.text


def test_all_matching_changes_the_whole_filter_but_not_past_the_limit(
    client, login, setup, three, monkeypatch
):
    login()
    posted = {"bulk-all_matching": "y", "bulk-priority": "low", "bulk-query": "status=new"}
    assert client.post("/tickets/bulk", data=posted).status_code == 200
    with setup():
        assert {db.session.get(Ticket, t).priority for t in three} == {Priority.LOW}

    monkeypatch.setattr(bulk, "MAX_TICKETS", 2)
    refused = client.post("/tickets/bulk", data={**posted, "bulk-priority": "high"})
    assert refused.status_code == 302
    assert "more than 2 tickets match this filter" in client.get(refused.headers["Location"]).text
    with setup():
        assert {db.session.get(Ticket, t).priority for t in three} == {Priority.LOW}


def test_nothing_ticked_and_nothing_chosen_are_said(client, login, three):
    login()
    nothing_ticked = client.post(
        "/tickets/bulk", data={"bulk-status": "open"}, follow_redirects=True
    )
    assert "tick the tickets to change first" in nothing_ticked.text
    no_change = client.post("/tickets/bulk", data={"ids": three}, follow_redirects=True)
    assert "Nothing changed: choose at least one change." in no_change.text


def test_bulk_merge_joins_the_chosen_tickets_into_one_and_leaves_that_one_be(
    ctx, open_ticket, make_user
):
    same = "ann@customer.test"
    ids = [open_ticket(sender=same, subject=f"Grinder {n}") for n in range(3)]
    agent = make_user()
    into = db.session.get(Ticket, ids[0])
    result = bulk.apply_bulk(ids, bulk.BulkChanges(merge_into=into), agent)
    assert result.changed == ids[1:] and result.unchanged == [ids[0]] and result.refused == []
    db.session.expire_all()
    for source in ids[1:]:
        merged = db.session.get(Ticket, source)
        assert merged.merged_into_id == ids[0] and merged.status == TicketStatus.CLOSED
    assert len(db.session.get(Ticket, ids[0]).messages) == 3


def test_the_queue_asks_before_merging_other_customers_tickets(client, login, setup, three):
    login()
    with setup():
        target = db.session.get(Ticket, three[0])
        number, customer = target.number, target.customer.display_name
    form = {"ids": three, "bulk-merge_into": f"#{number}", "bulk-query": ""}
    asked = client.post("/tickets/bulk", data=form)
    assert asked.status_code == 200
    assert "2 of the chosen tickets are from another customer" in asked.text
    assert f"replies go to {customer} only" in asked.text
    with setup():
        assert db.session.get(Ticket, three[1]).merged_into_id is None  # nothing yet
    done = client.post("/tickets/bulk", data={**form, "bulk-confirm_merge": "1"})
    assert "<strong>2</strong> tickets changed" in done.text
    with setup():
        assert db.session.get(Ticket, three[2]).merged_into_id == three[0]
    unknown = client.post("/tickets/bulk", data={**form, "bulk-merge_into": "#99999"})
    assert unknown.status_code == 302


def test_the_api_merges_in_bulk_and_refuses_an_unknown_target(client, setup, bearer, three):
    response = client.post(
        "/api/v1/tickets/bulk",
        json={"ids": three, "changes": {"merge_into": three[2]}},
        headers=bearer,
    )
    assert response.status_code == 200, response.text
    assert response.json == {"changed": three[:2], "unchanged": [three[2]], "refused": []}
    again = client.post(
        "/api/v1/tickets/bulk",
        json={"ids": three[:1], "changes": {"merge_into": three[2]}},
        headers=bearer,
    )
    assert again.json["refused"][0]["id"] == three[0]  # merged already: said, not hidden
    unknown = client.post(
        "/api/v1/tickets/bulk", json={"ids": three, "changes": {"merge_into": 999}}, headers=bearer
    )
    assert unknown.status_code == 422 and "no ticket with id 999" in unknown.text
