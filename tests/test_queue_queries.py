"""The agent queue's queries: the three sorts with cursor paging across ties, capped counts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpdesk.extensions import db
from helpdesk.models import Priority, Stage, Ticket, TicketStatus
from helpdesk.tickets import queries, service, sla, trash, word_matches
from helpdesk.tickets.bins import Bin
from helpdesk.tickets.queries import (
    InvalidFilter,
    QueueSort,
    StatusCount,
    TicketFilter,
    cursor_for,
    customer_page,
    parse_sort,
    status_counts,
    ticket_page,
)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 5, day, hour, tzinfo=UTC)


def receive(inbound, when: datetime, auto_submitted: bool = False, **fields) -> Ticket:
    """A new ticket; ``auto_submitted``: one whose customer has not written yet (only automatic
    mail came in since, which opens no ticket by itself, so the test clears the wait)."""
    ticket = service.receive(inbound(received_at=when, **fields)).ticket
    if auto_submitted:
        ticket.last_customer_message_at = None
    return ticket


def walk(filters: TicketFilter, sort: QueueSort, limit: int = 2) -> list[int]:
    """Every ticket id in list order, read page by page through the cursors."""
    seen: list[int] = []
    cursor = None
    while True:
        page = ticket_page(filters, limit=limit, cursor=cursor, sort=sort)
        assert len(page.items) <= limit
        seen += [ticket.id for ticket in page.items]
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_waiting_puts_the_longest_waiting_customer_first(ctx, inbound):
    # Two pairs tie on the time of the customer's last message; the id breaks the tie.
    late = receive(inbound, at(1), sender="a@customer.test")
    tie_one = receive(inbound, at(2), sender="b@customer.test")
    tie_two = receive(inbound, at(2), sender="c@customer.test")
    fresh = receive(inbound, at(4), sender="d@customer.test")
    # The customer wrote again on day 3: they have waited since then, not since day 1.
    receive(inbound, at(3), sender="a@customer.test", subject="Re: Help [#1]")
    silent_old = receive(inbound, at(1, 9), sender="e@customer.test", auto_submitted=True)
    silent_new = receive(inbound, at(5), sender="f@customer.test", auto_submitted=True)
    db.session.commit()
    assert silent_old.last_customer_message_at is None

    expected = [tie_one, tie_two, late, fresh, silent_old, silent_new]
    assert walk(TicketFilter(), QueueSort.WAITING) == [t.id for t in expected]
    assert walk(TicketFilter(), QueueSort.WAITING, limit=4) == [t.id for t in expected]


def test_priority_goes_urgent_to_low_and_newest_first_within(ctx, inbound, make_user):
    agent = make_user()
    made = {}
    for name, day, level in [
        ("low", 5, "low"),
        ("normal_old", 1, "normal"),
        ("normal_new", 4, "normal"),
        ("high_a", 2, "high"),
        ("high_b", 2, "high"),
        ("urgent", 1, "urgent"),
    ]:
        made[name] = ticket = receive(inbound, at(day), sender=f"{name}@customer.test")
        service.set_priority(ticket, agent, level)
    db.session.commit()

    order = ["urgent", "high_b", "high_a", "normal_new", "normal_old", "low"]
    for limit in (1, 2, 4):
        assert walk(TicketFilter(), QueueSort.PRIORITY, limit) == [made[n].id for n in order]
    high_or_low = TicketFilter(priorities=(Priority.LOW, Priority.HIGH))
    for limit in (1, 2):
        assert walk(high_or_low, QueueSort.PRIORITY, limit) == [
            made[n].id for n in ("high_b", "high_a", "low")
        ]


def test_newest_pages_across_ties_with_filters(ctx, inbound):
    tickets = [
        receive(inbound, at(day), sender=f"n{n}@customer.test")
        for n, day in enumerate([1, 2, 2, 2, 3])
    ]
    db.session.commit()
    newest = sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)
    assert walk(TicketFilter(), QueueSort.NEWEST) == [t.id for t in newest]
    assert walk(TicketFilter(stages=(Stage.UNKNOWN,)), QueueSort.NEWEST, 1) == [
        t.id for t in newest
    ]


def test_cursor_for_continues_after_a_given_ticket(ctx, inbound, make_user):
    agent = make_user()
    tickets = [receive(inbound, at(day), sender=f"k{day}@customer.test") for day in (1, 2, 3)]
    service.set_priority(tickets[0], agent, "urgent")
    db.session.commit()

    after_urgent = ticket_page(
        TicketFilter(), cursor=cursor_for(tickets[0], QueueSort.PRIORITY), sort=QueueSort.PRIORITY
    )
    assert after_urgent.items == [tickets[2], tickets[1]]
    assert ticket_page(TicketFilter(), cursor=cursor_for(tickets[2])).items == tickets[1::-1]


def test_a_cursor_only_continues_its_own_list(ctx, inbound):
    for day in (1, 2, 3):
        receive(inbound, at(day), sender=f"s{day}@customer.test")
    db.session.commit()
    newest = ticket_page(TicketFilter(), limit=1).next_cursor
    customers = customer_page(limit=1).next_cursor

    with pytest.raises(InvalidFilter, match="newest"):
        ticket_page(TicketFilter(), cursor=newest, sort=QueueSort.WAITING)
    with pytest.raises(InvalidFilter, match="customers"):
        ticket_page(TicketFilter(), cursor=customers)
    with pytest.raises(InvalidFilter, match="cursor"):
        customer_page(cursor=newest)


def test_parse_sort():
    assert parse_sort(None) == parse_sort("") == QueueSort.NEWEST
    assert parse_sort("waiting") == QueueSort.WAITING
    with pytest.raises(InvalidFilter, match="newest, waiting, priority"):
        parse_sort("oldest")


def test_status_counts_ignore_the_status_filter_and_keep_the_others(ctx, inbound, make_user):
    agent = make_user()
    for n, (status, channel) in enumerate(
        [("new", "email"), ("new", "sms"), ("open", "email"), ("closed", "email")]
    ):
        sender = f"+1555000{n:04d}" if channel == "sms" else f"c{n}@customer.test"
        ticket = receive(inbound, at(n + 1), channel=channel, sender=sender, text=f"word{n}")
        service.set_status(ticket, agent, status)
    db.session.commit()

    def counted(filters: TicketFilter) -> dict[str, str]:
        return {status.value: str(count) for status, count in status_counts(filters).items()}

    every = {"new": "2", "open": "1", "pending": "0", "solved": "0", "closed": "1"}
    assert counted(TicketFilter()) == every
    assert counted(TicketFilter(statuses=(TicketStatus.CLOSED,))) == every
    assert counted(TicketFilter(channels=("email",))) == {**every, "new": "1"}
    assert counted(TicketFilter(q="word1")) == {**every, "new": "1", "open": "0", "closed": "0"}


def test_status_counts_stop_at_the_cap(ctx, inbound, monkeypatch):
    for n in range(4):
        receive(inbound, at(n + 1), sender=f"cap{n}@customer.test")
    db.session.commit()
    monkeypatch.setattr(queries, "COUNT_CAP", 3)

    counts = status_counts(TicketFilter())
    assert counts[TicketStatus.NEW] == StatusCount(3, capped=True)
    assert str(counts[TicketStatus.NEW]) == "3+"
    assert counts[TicketStatus.OPEN] == StatusCount(0, capped=False)
    assert str(StatusCount(1000, capped=True)) == "1,000+"


@pytest.mark.parametrize("few", [5000, 0], ids=["matches-read-whole", "checked-per-ticket"])
def test_capped_counts_of_word_searches(ctx, inbound, make_user, monkeypatch, few):
    """Saved views count a word search the same whether its matches are read whole or each
    ticket's words are checked (SQLite, words in many tickets)."""
    monkeypatch.setattr(word_matches, "_FEW", few)
    monkeypatch.setattr(word_matches, "_CHECK_COST", 1 if few else 0)
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    agent = make_user()
    for n in range(6):
        text = "parcel lost" if n < 4 else "invoice wrong"
        ticket = receive(inbound, at(n + 1), sender=f"view{n}@customer.test", text=text)
        if n % 2:
            service.set_status(ticket, agent, "open")
    db.session.commit()
    views = [
        TicketFilter(q="parcel"),
        TicketFilter(q="parcel", statuses=(TicketStatus.OPEN,)),
        TicketFilter(q="invoice wrong"),
        TicketFilter(q="parcel invoice"),
    ]
    assert queries.capped_counts(views) == [
        StatusCount(3, capped=True),
        StatusCount(2, capped=False),
        StatusCount(2, capped=False),
        StatusCount(0, capped=False),
    ]


def test_word_counts_follow_status_changes(ctx, inbound, make_user, monkeypatch):
    monkeypatch.setattr(word_matches, "_FEW", 0)  # read status by status, as for common words
    agent = make_user()
    ticket = receive(inbound, at(1), sender="moves@customer.test", text="parcel lost")
    receive(inbound, at(2), sender="stays@customer.test", text="parcel late")
    db.session.commit()
    for status in ("open", "pending", "solved"):
        service.set_status(ticket, agent, status)
        db.session.commit()
    counts = status_counts(TicketFilter(q="parcel"))
    assert {status.value: str(count) for status, count in counts.items()} == {
        "new": "1",
        "open": "0",
        "pending": "0",
        "solved": "1",
        "closed": "0",
    }, "a ticket is counted under its status now, not under any it had"
    assert walk(TicketFilter(q="parcel", statuses=(TicketStatus.SOLVED,)), QueueSort.NEWEST) == [
        ticket.id
    ]


@pytest.mark.parametrize("most_left_out", [0, 2000], ids=["checked-by-ticket", "from-index"])
def test_word_counts_leave_out_the_spam_and_the_trash(
    ctx, inbound, make_user, monkeypatch, most_left_out
):
    """However the counts are read (the index alone less the spam and trash among its matches,
    or each match's ticket looked up), they are the same, at the cap and below it."""
    monkeypatch.setattr(word_matches, "_FEW", 0)
    monkeypatch.setattr(word_matches, "_MOST_LEFT_OUT", most_left_out)
    monkeypatch.setattr(queries, "COUNT_CAP", 2)
    agent = make_user(role="admin")
    tickets = [
        receive(inbound, at(n + 1), sender=f"bin{n}@customer.test", text="parcel lost")
        for n in range(8)
    ]
    receive(inbound, at(10), sender="other@customer.test", text="invoice wrong")
    for ticket in tickets[:4]:
        service.set_status(ticket, agent, "open")
    # Open: 4 with the word, 2 of them spam or deleted. New: 4 with the word, 1 in the spam.
    trash.mark_spam(tickets[0], agent)
    trash.delete_ticket(tickets[1], agent)
    trash.mark_spam(tickets[4], agent)
    db.session.commit()

    def counted(**fields) -> dict[str, str]:
        counts = status_counts(TicketFilter(q="parcel", **fields))
        return {status.value: str(count) for status, count in counts.items() if count.value}

    assert counted() == {"new": "2+", "open": "2"}
    assert counted(statuses=(TicketStatus.OPEN,)) == {"new": "2+", "open": "2"}
    assert counted(in_bin=Bin.SPAM) == {"new": "1", "open": "1"}
    assert counted(in_bin=Bin.TRASH) == {"open": "1"}
    trash.unmark_spam(tickets[4], agent)
    db.session.commit()
    monkeypatch.setattr(queries, "COUNT_CAP", 3)
    assert counted() == {"new": "3+", "open": "2"}
    monkeypatch.setattr(queries, "COUNT_CAP", 4)
    assert counted() == {"new": "4", "open": "2"}, "the spam ticket is back in the count"


def test_a_word_search_pages_by_date_though_ids_stray_from_dates(ctx, inbound, make_user):
    """The index is read by ticket id a window at a time; a ticket whose id is out of date order
    (a split takes its first message's date, a backlog its arrival's) still lands where its
    date puts it, on every page, with or without a status filter."""
    agent = make_user()
    days = [5, 9, 1, 7, 3, 8, 2, 6, 4, 10, 11, 1]  # ids rise, dates do not
    tickets = []
    for n, day in enumerate(days):
        text = "other words" if n == 4 else "refund please"
        tickets.append(receive(inbound, at(day, n), sender=f"w{n}@customer.test", text=text))
        if n % 3 == 0:
            service.set_status(tickets[-1], agent, "open")
    db.session.commit()
    found = [ticket for n, ticket in enumerate(tickets) if n != 4]

    def newest(status: str | None = None) -> list[int]:
        chosen = [ticket for ticket in found if status in (None, ticket.status.value)]
        return [t.id for t in sorted(chosen, key=lambda t: (t.created_at, t.id), reverse=True)]

    for window, strays in ((2, 200), (2, 0), (50, 200)):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(word_matches, "_FEW", 0)
            patch.setattr(word_matches, "_WINDOW", window)
            patch.setattr(word_matches, "_STRAYS_CAP", strays)
            for limit in (1, 2, 5):
                assert walk(TicketFilter(q="refund"), QueueSort.NEWEST, limit) == newest()
                open_only = TicketFilter(q="refund", statuses=(TicketStatus.OPEN,))
                assert walk(open_only, QueueSort.NEWEST, limit) == newest("open")


def expected_order(tickets: list[Ticket], sort: QueueSort) -> list[int]:
    """The order each sort promises, computed here from the tickets' own fields."""
    rank = {"urgent": 0, "high": 1, "normal": 2, "low": 3}
    if sort == QueueSort.NEWEST:
        ordered = sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)
    elif sort == QueueSort.PRIORITY:
        newest = sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)
        ordered = sorted(newest, key=lambda t: rank[t.priority])
    elif sort == QueueSort.DUE:
        due = [t for t in tickets if t.sla_due_at is not None]
        undated = [t for t in tickets if t.sla_due_at is None]
        ordered = sorted(due, key=lambda t: (t.sla_due_at, t.id)) + sorted(
            undated, key=lambda t: (t.created_at, t.id), reverse=True
        )
    else:
        waiting = [t for t in tickets if t.last_customer_message_at is not None]
        silent = [t for t in tickets if t.last_customer_message_at is None]
        ordered = sorted(waiting, key=lambda t: (t.last_customer_message_at, t.id)) + sorted(
            silent, key=lambda t: (t.created_at, t.id)
        )
    return [t.id for t in ordered]


@pytest.mark.parametrize("sort", list(QueueSort))
def test_every_sort_walks_a_multi_status_filter_once_in_order(ctx, inbound, make_user, sort):
    agent = make_user()
    sla.set_target("unknown", first_response=60 * 24, resolution=None)
    plan = [
        (1, "new", "low", False),
        (2, "open", "urgent", False),
        (2, "new", "urgent", False),
        (2, "closed", "high", False),
        (3, "open", "normal", True),
        (3, "new", "normal", False),
        (4, "open", "high", False),
        (4, "pending", "low", True),
        (5, "new", "normal", True),
    ]
    tickets = []
    for n, (day, status, priority, automatic) in enumerate(plan):
        text = "parcel late" if n % 3 else "invoice wrong"
        ticket = receive(
            inbound, at(day), sender=f"m{n}@customer.test", text=text, auto_submitted=automatic
        )
        service.set_status(ticket, agent, status)
        service.set_priority(ticket, agent, priority)
        tickets.append(ticket)
    db.session.commit()

    new_or_open = TicketFilter(statuses=(TicketStatus.NEW, TicketStatus.OPEN))
    chosen = [t for t in tickets if t.status in ("new", "open")]
    for limit in (1, 3, 50):
        assert walk(TicketFilter(), sort, limit) == expected_order(tickets, sort)
        assert walk(new_or_open, sort, limit) == expected_order(chosen, sort)
    # A word search reads its matches whole when they are few, else checks each ticket of the
    # sort's own order (SQLite): the same tickets in the same order either way.
    late = [t for n, t in enumerate(tickets) if n % 3]
    for few in (5000, 0):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(word_matches, "_FEW", few)
            patch.setattr(word_matches, "_CHECK_COST", 1 if few else 0)
            for limit in (1, 3, 50):
                assert walk(TicketFilter(q="parcel"), sort, limit) == expected_order(late, sort)
                late_and_new = TicketFilter(q="parc*", statuses=(TicketStatus.NEW,))
                assert walk(late_and_new, sort, limit) == expected_order(
                    [t for t in late if t.status == "new"], sort
                )
