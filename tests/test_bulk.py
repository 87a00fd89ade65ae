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


def test_a_filter_chooses_the_tickets_and_already_done_ones_stay_unchanged(
    ctx, three, make_user
):
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

    refused = bulk.apply_bulk(three[1:], bulk.BulkChanges(tags_add=("x",), assignee=gone), ada)
    db.session.commit()
    assert [r.reason for r in refused.refused] == [
        "gone@helpdesk.test is deactivated and cannot take tickets"
    ] * 2
    # The refused ticket took no part of the change: no tag, no event, no version step.
    assert [tag.name for tag in db.session.get(Ticket, three[1]).tags] == []
    assert _events(three[1], "tag") == 0
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
