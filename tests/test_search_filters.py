"""A word search narrowed by the queue's other filters: the word index holds each ticket's
status, stage, channel, priority, assignee and team as words, which must follow every change, so
that pages and counts read through the index agree with the tickets themselves."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import select, text

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Priority, Stage, Ticket, TicketStatus
from helpdesk.tickets import queries, search, service, trash, word_matches
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.filter_values import NO_TEAM, UNASSIGNED
from helpdesk.tickets.queries import QueueSort, TicketFilter, status_counts, ticket_page

SEARCHED = "parcel"


def at(day: int) -> datetime:
    return datetime(2024, 5, day, 12, tzinfo=UTC)


def walk(filters: TicketFilter, limit: int = 2) -> list[int]:
    """Every ticket id of a list, newest first, read page by page through the cursors."""
    seen: list[int] = []
    cursor = None
    while True:
        page = ticket_page(filters, limit=limit, cursor=cursor, sort=QueueSort.NEWEST)
        seen += [ticket.id for ticket in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def counted(filters: TicketFilter) -> dict[str, str]:
    return {status.value: str(count) for status, count in status_counts(filters).items()}


def expected(filters: TicketFilter, holding: set[int]) -> tuple[list[int], dict[str, str]]:
    """The page and counts of ``filters`` worked out without the word index: the same filter
    without words, narrowed to the tickets known to hold the word."""
    ids = [ticket_id for ticket_id in walk(replace(filters, q="")) if ticket_id in holding]
    unfiltered = walk(replace(filters, q="", statuses=()))
    statuses = dict(db.session.execute(select(Ticket.id, Ticket.status)).all())
    counts = {status.value: 0 for status in TicketStatus}
    for ticket_id in unfiltered:
        if ticket_id in holding:
            counts[statuses[ticket_id].value] += 1
    cap = queries.COUNT_CAP
    shown = {status: f"{cap}+" if count > cap else str(count) for status, count in counts.items()}
    return ids, shown


@pytest.mark.parametrize(
    ("few", "most_left_out", "most_prefix_words"),
    [(5000, 2000, 40), (0, 2000, 40), (0, 0, 40), (0, 2000, 0)],
    ids=["matches-read-whole", "from-index", "tickets-looked-up", "prefix-not-spelled-out"],
)
def test_word_searches_with_filters_follow_every_property_change(
    ctx, inbound, make_user, monkeypatch, few, most_left_out, most_prefix_words
):
    """However the index is read (see helpdesk/tickets/word_matches.py), a word search narrowed
    by any filter finds and counts what the filter finds among the tickets holding the word."""
    monkeypatch.setattr(word_matches, "_FEW", few)
    monkeypatch.setattr(word_matches, "_MOST_LEFT_OUT", most_left_out)
    monkeypatch.setattr(word_matches, "_MOST_PREFIX_WORDS", most_prefix_words)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    ann, bob = make_user(name="Ann"), make_user(name="Bob")
    admin = make_user(role="admin")
    front, back = teams.create_team("Front"), teams.create_team("Back")
    teams.set_members(front, [ann])
    teams.set_members(back, [ann, bob])
    tickets = []
    for n in range(9):
        channel = "sms" if n % 3 == 0 else "email"
        sender = f"+1555000{n:04d}" if channel == "sms" else f"f{n}@customer.test"
        text = "invoice wrong" if n == 8 else "parcel lost"
        tickets.append(
            service.receive(
                inbound(received_at=at(n + 1), channel=channel, sender=sender, text=text)
            ).ticket
        )
    db.session.commit()
    # Each property moved, some there and back, after the ticket was first indexed.
    service.set_stage(tickets[0], ann, Stage.PURCHASE)
    service.set_team(tickets[0], ann, back)
    service.assign(tickets[0], ann, bob)
    service.set_priority(tickets[0], ann, Priority.URGENT)
    service.set_stage(tickets[1], ann, Stage.PURCHASE)
    service.set_stage(tickets[1], ann, Stage.USE)
    service.assign(tickets[2], ann, ann)
    service.assign(tickets[2], ann, None)
    service.set_team(tickets[3], ann, front)
    service.assign(tickets[3], ann, ann)
    service.set_status(tickets[3], ann, "open")
    service.set_team(tickets[4], ann, front)
    service.set_team(tickets[4], ann, None)
    service.set_stage(tickets[5], ann, Stage.PURCHASE)
    service.set_status(tickets[5], ann, "solved")
    service.set_priority(tickets[6], ann, Priority.LOW)
    service.set_stage(tickets[7], ann, Stage.PURCHASE)
    service.assign(tickets[7], ann, bob)
    service.set_stage(tickets[8], ann, Stage.PURCHASE)
    trash.mark_spam(tickets[7], admin)
    db.session.commit()
    holding = {ticket.id for ticket in tickets[:8]}

    filters = [
        TicketFilter(stages=(Stage.PURCHASE,)),
        TicketFilter(stages=(Stage.USE, Stage.PURCHASE)),
        TicketFilter(channels=("sms",)),
        TicketFilter(priorities=(Priority.URGENT,)),
        TicketFilter(priorities=(Priority.NORMAL,)),
        TicketFilter(assignee=bob.id),
        TicketFilter(assignee=ann.id),
        TicketFilter(assignee=UNASSIGNED),
        TicketFilter(team=front.id),
        TicketFilter(team=NO_TEAM),
        TicketFilter(teams_of=ann.id),
        TicketFilter(teams_of=admin.id),
        TicketFilter(stages=(Stage.PURCHASE,), statuses=(TicketStatus.SOLVED,)),
        TicketFilter(stages=(Stage.PURCHASE,), assignee=bob.id, team=back.id),
        TicketFilter(stages=(Stage.PURCHASE,), in_bin=Bin.SPAM),
    ]
    for each in filters:
        searched = replace(each, q=SEARCHED)
        ids, counts = expected(each, holding)
        assert walk(searched) == ids, each
        assert counted(searched) == counts, each
        assert walk(replace(searched, q="parc*")) == ids, each
        assert counted(replace(searched, q="parc*")) == counts, each
    assert walk(TicketFilter(q=SEARCHED, stages=(Stage.PURCHASE,))) == [
        tickets[5].id,
        tickets[0].id,
    ]


def test_a_ticket_index_row_holds_its_property_words(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound(received_at=at(1), text="parcel lost")).ticket
    service.assign(ticket, agent, agent)
    service.set_stage(ticket, agent, Stage.ADVOCACY)
    db.session.commit()

    assert set(search.property_words(ticket)) == {
        "\ue000new",
        "\ue001advocacy",
        "\ue002email",
        "\ue003normal",
        f"\ue004{agent.id}",
        "\ue005none",
    }
    assert set(search.property_words(ticket)) <= set(_index_row(ticket.id))
    assert "\ue001unknown" not in _index_row(ticket.id), "the stage it had is gone"


def _index_row(ticket_id: int) -> list[str]:
    """The words of a ticket's index row, as stored."""
    if db.session.get_bind().dialect.name == "postgresql":
        statement = "SELECT tsvector_to_array(words) FROM ticket_search WHERE ticket_id = :id"
        return list(db.session.scalar(text(statement), {"id": ticket_id}))
    statement = "SELECT words FROM ticket_search WHERE rowid = :id"
    return db.session.scalar(text(statement), {"id": ticket_id}).split()


def test_the_migration_spells_out_the_properties_of_tickets_already_indexed(
    unmigrated_app, inbound
):
    with unmigrated_app.app_context():
        upgrade()
        ticket = service.receive(inbound(received_at=at(1), text="parcel lost")).ticket
        service.set_stage(ticket, None, Stage.PURCHASE)
        db.session.commit()
        ticket_id = ticket.id
        downgrade(revision="0041_journey_rollups")
        assert not [word for word in _index_row(ticket_id) if word.startswith("\ue001")]
        assert "\ue000new" in _index_row(ticket_id), "the status word is 0038's, kept"
        db.session.remove()
        upgrade()
        row = _index_row(ticket_id)
        assert "\ue001purchase" in row and "\ue004none" in row and "\ue000new" in row
        page = ticket_page(TicketFilter(q="parcel", stages=(Stage.PURCHASE,)))
        assert [found.id for found in page.items] == [ticket_id]
