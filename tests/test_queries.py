"""Ticket and customer lists: every filter, word search, date bounds and keyset pagination."""

from __future__ import annotations

from datetime import UTC, date, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import text

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Priority, Stage, Ticket, TicketStatus
from helpdesk.tickets import service
from helpdesk.tickets.queries import (
    UNASSIGNED,
    InvalidFilter,
    TicketFilter,
    customer_page,
    customer_tickets,
    parse_limit,
    ticket_page,
)


def at(day: int, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2024, 5, day, hour, minute, second, micro, tzinfo=UTC)


def receive(inbound, when: datetime, **fields) -> Ticket:
    return service.receive(inbound(received_at=when, **fields)).ticket


def numbers(filters: TicketFilter) -> set[int]:
    return {ticket.number for ticket in ticket_page(filters).items}


@pytest.fixture
def queue(ctx, inbound, make_user) -> SimpleNamespace:
    """Four tickets that differ in every filtered field, and the two agents they belong to."""
    alice, bob = make_user(name="Alice"), make_user(name="Bob")
    refund = receive(inbound, at(1), subject="Refund for order 1001")
    texting = receive(inbound, at(2), channel="sms", sender="+15550002001", text="Where is it?")
    service.set_status(texting, alice, "open")
    service.set_priority(texting, alice, "high")
    service.set_stage(texting, alice, "purchase")
    service.assign(texting, alice, alice)
    chat = receive(inbound, at(3), channel="chat", sender="visitor-9", chosen_stage="use")
    service.set_status(chat, bob, "solved")
    service.set_priority(chat, bob, "urgent")
    service.assign(chat, bob, bob)
    login = receive(inbound, at(4), sender="bea@customer.test", subject="Login trouble")
    service.set_status(login, alice, "pending")
    service.set_priority(login, alice, "high")
    service.set_stage(login, alice, "purchase")
    service.assign(login, alice, alice)
    db.session.commit()
    return SimpleNamespace(
        alice=alice, bob=bob, refund=refund, texting=texting, chat=chat, login=login
    )


def test_no_filter_lists_every_ticket_newest_first(queue):
    page = ticket_page(TicketFilter())
    assert page.items == [queue.login, queue.chat, queue.texting, queue.refund]
    assert page.next_cursor is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (TicketFilter(statuses=(TicketStatus.PENDING,)), {"login"}),
        (TicketFilter(statuses=(TicketStatus.NEW, TicketStatus.SOLVED)), {"refund", "chat"}),
        (TicketFilter(stages=(Stage.PURCHASE,)), {"texting", "login"}),
        (TicketFilter(stages=(Stage.USE, Stage.UNKNOWN)), {"chat", "refund"}),
        (TicketFilter(channels=(Channel.EMAIL,)), {"refund", "login"}),
        (TicketFilter(channels=(Channel.SMS, Channel.CHAT)), {"texting", "chat"}),
        (TicketFilter(priorities=(Priority.HIGH,)), {"texting", "login"}),
        (TicketFilter(priorities=(Priority.NORMAL, Priority.URGENT)), {"refund", "chat"}),
        (TicketFilter(assignee=UNASSIGNED), {"refund"}),
        (TicketFilter(stages=(Stage.PURCHASE,), channels=(Channel.EMAIL,)), {"login"}),
        (
            TicketFilter(priorities=(Priority.HIGH,), statuses=(TicketStatus.OPEN,)),
            {"texting"},
        ),
        (TicketFilter(channels=(Channel.CHAT,), stages=(Stage.PURCHASE,)), set()),
    ],
)
def test_filters_narrow_the_list(queue, filters, expected):
    assert numbers(filters) == {getattr(queue, name).number for name in expected}


def test_assignee_filter_takes_a_user_id(queue):
    assert numbers(TicketFilter(assignee=queue.alice.id)) == {
        queue.texting.number,
        queue.login.number,
    }
    mine_and_urgent = TicketFilter(assignee=queue.bob.id, priorities=(Priority.URGENT,))
    assert numbers(mine_and_urgent) == {queue.chat.number}


def test_word_search_matches_subject_and_any_message_text(queue, inbound):
    service.add_note(queue.refund, queue.alice, "Courier lost the parcel")
    locked = receive(inbound, at(5), sender="bea@customer.test", text="Still LOCKED out")
    db.session.commit()

    assert numbers(TicketFilter(q="refund")) == {queue.refund.number}
    assert numbers(TicketFilter(q="parcel")) == {queue.refund.number}, "a note's text counts"
    assert numbers(TicketFilter(q="locked")) == {locked.number}
    assert numbers(TicketFilter(q="REFUND courier")) == {queue.refund.number}, (
        "words may come from the subject and a message, in any case"
    )
    assert numbers(TicketFilter(q="refund locked")) == set(), "every word must appear"
    assert numbers(TicketFilter(q="where", channels=(Channel.SMS,))) == {queue.texting.number}


def test_query_words_match_whole_words(ctx, inbound):
    half = receive(inbound, at(1), subject="Coupon 50% off")
    five_hundred = receive(inbound, at(2), subject="Coupon 500 off")
    underscore = receive(inbound, at(3), subject="my_account")
    receive(inbound, at(4), subject="myXaccount")
    db.session.commit()

    assert numbers(TicketFilter(q="50%")) == {half.number}, "punctuation only separates words"
    assert numbers(TicketFilter(q="500")) == {five_hundred.number}
    assert numbers(TicketFilter(q="coupo")) == set(), "part of a word does not match"
    assert numbers(TicketFilter(q="account")) == {underscore.number}
    assert numbers(TicketFilter(q="%%% ...")) == numbers(TicketFilter()), "no words, no filter"


def test_search_folds_case_but_keeps_accents(ctx, inbound):
    cafe = receive(inbound, at(1), subject="Café CRÈME", text="write to ada@customer.test")
    plain = receive(inbound, at(2), subject="cafe creme")
    db.session.commit()

    assert numbers(TicketFilter(q="CAFÉ crème")) == {cafe.number}
    assert numbers(TicketFilter(q="cafe")) == {plain.number}
    assert numbers(TicketFilter(q="customer.test ada")) == {cafe.number}


def test_replies_and_later_messages_are_searchable(ctx, inbound, make_user):
    agent = make_user()
    ticket = receive(inbound, at(1), subject="Parcel", sender="lee@customer.test", text="Hi")
    service.reply(ticket, agent, "We sent a replacement")
    receive(inbound, at(2), sender="lee@customer.test", subject="Re: Parcel [#1]", text="Thanks")
    db.session.commit()

    assert numbers(TicketFilter(q="replacement thanks parcel")) == {ticket.number}


def test_deleting_a_ticket_forgets_its_words(ctx, inbound):
    ticket = receive(inbound, at(1), subject="Forget me")
    db.session.commit()
    for table in ("ticket_events", "messages", "tickets"):
        column = "id" if table == "tickets" else "ticket_id"
        db.session.execute(text(f"DELETE FROM {table} WHERE {column} = :id"), {"id": ticket.id})
    db.session.commit()

    assert db.session.scalar(text("SELECT count(*) FROM ticket_search")) == 0


def test_date_range_includes_both_whole_days_in_utc(ctx, inbound):
    edges = [
        at(1, 23, 59, 59, 999999),
        at(2, 0, 0, 0, 0),
        at(3, 23, 59, 59, 999999),
        at(4, 0, 0, 0, 0),
    ]
    before, first, last, after = (receive(inbound, when) for when in edges)
    db.session.commit()

    inside = TicketFilter(created_from=date(2024, 5, 2), created_to=date(2024, 5, 3))
    assert numbers(inside) == {first.number, last.number}
    assert numbers(TicketFilter(created_from=date(2024, 5, 4))) == {after.number}
    assert numbers(TicketFilter(created_to=date(2024, 5, 1))) == {before.number}
    one_day = TicketFilter(created_from=date(2024, 5, 2), created_to=date(2024, 5, 2))
    assert numbers(one_day) == {first.number}


def test_pages_walk_every_ticket_once_even_when_timestamps_tie(ctx, inbound):
    # Three tickets share one instant: the id breaks the tie, so none is skipped or repeated.
    times = [at(1), at(2), at(2), at(2), at(3), at(4), at(5)]
    tickets = [receive(inbound, when) for when in times]
    db.session.commit()
    expected = [t.id for t in sorted(tickets, key=lambda t: (t.created_at, t.id), reverse=True)]

    seen, cursor, sizes = [], None, []
    while True:
        page = ticket_page(TicketFilter(), limit=3, cursor=cursor)
        seen += [ticket.id for ticket in page.items]
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == expected
    assert sizes == [3, 3, 1]


def test_a_full_last_page_has_no_next_cursor(ctx, inbound):
    for day in (1, 2, 3, 4):
        receive(inbound, at(day))
    db.session.commit()

    first = ticket_page(TicketFilter(), limit=2)
    second = ticket_page(TicketFilter(), limit=2, cursor=first.next_cursor)
    assert len(second.items) == 2
    assert second.next_cursor is None


def test_new_tickets_do_not_shift_later_pages(ctx, inbound):
    older = [receive(inbound, at(day)) for day in (1, 2, 3)]
    db.session.commit()
    first = ticket_page(TicketFilter(), limit=2)
    receive(inbound, at(9))
    db.session.commit()

    rest = ticket_page(TicketFilter(), limit=2, cursor=first.next_cursor)
    assert first.items + rest.items == older[::-1]


def test_cursor_applies_with_the_filter(queue):
    purchase = TicketFilter(stages=(Stage.PURCHASE,))
    first = ticket_page(purchase, limit=1)
    second = ticket_page(purchase, limit=1, cursor=first.next_cursor)
    assert [first.items, second.items] == [[queue.login], [queue.texting]]
    assert second.next_cursor is None


@pytest.mark.parametrize("cursor", ["not base64!", "bm9wZQ", "MjAyNC0wNS0wMXx4"])
def test_a_foreign_cursor_is_refused(ctx, cursor):
    with pytest.raises(InvalidFilter, match="cursor"):
        ticket_page(TicketFilter(), cursor=cursor)


def test_from_args_parses_query_string_values(ctx, make_user):
    someone = make_user()
    filters = TicketFilter.from_args(
        {
            "status": "open, pending,",
            "stage": "use",
            "channel": "sms,chat",
            "priority": "urgent",
            "assignee": "me",
            "q": "refund late",
            "created_from": "2024-05-01",
            "created_to": "2024-05-31",
        },
        me=7,
    )
    assert filters == TicketFilter(
        statuses=(TicketStatus.OPEN, TicketStatus.PENDING),
        stages=(Stage.USE,),
        channels=(Channel.SMS, Channel.CHAT),
        priorities=(Priority.URGENT,),
        assignee=7,
        q="refund late",
        created_from=date(2024, 5, 1),
        created_to=date(2024, 5, 31),
    )
    assert TicketFilter.from_args({"assignee": "none"}, me=7).assignee == UNASSIGNED
    assert TicketFilter.from_args({"assignee": str(someone.id)}, me=7).assignee == someone.id
    assert TicketFilter.from_args({"status": "", "assignee": ""}, me=7) == TicketFilter()


@pytest.mark.parametrize(
    "args",
    [
        {"status": "opened"},
        {"stage": "purchase,bogus"},
        {"channel": "fax"},
        {"priority": "HIGH"},
        {"assignee": "alice"},
        {"assignee": "-3"},
        {"created_from": "2024-13-01"},
        {"created_to": "yesterday"},
    ],
)
def test_from_args_refuses_values_it_cannot_use(args):
    with pytest.raises(InvalidFilter):
        TicketFilter.from_args(args, me=1)


def test_parse_limit_defaults_and_bounds():
    assert parse_limit(None) == 50
    assert parse_limit("200") == 200
    for bad in ("0", "201", "ten", "-1"):
        with pytest.raises(InvalidFilter, match="limit"):
            parse_limit(bad)


def test_customer_search_covers_names_and_identities(ctx, inbound):
    service.receive(inbound(sender="ada@customer.test", sender_name="Ada Lovelace"))
    service.receive(inbound(channel="sms", sender="+15550009999"))
    service.receive(inbound(sender="grace@navy.test", sender_name="Grace Hopper"))
    db.session.commit()

    def names(q: str) -> list[str]:
        return [customer.display_name for customer in customer_page(q).items]

    assert names("") == ["Grace Hopper", "+15550009999", "Ada Lovelace"]
    assert names("lovelace") == ["Ada Lovelace"]
    assert names("navy") == ["Grace Hopper"]
    assert names("5550009") == ["+15550009999"]
    assert names("ada customer.test") == ["Ada Lovelace"]
    assert names("ada navy") == []


def test_customer_pages_walk_every_customer_once(ctx, inbound):
    for n in range(5):
        service.receive(inbound(sender=f"c{n}@customer.test"))
    db.session.commit()

    first = customer_page(limit=2)
    second = customer_page(limit=2, cursor=first.next_cursor)
    third = customer_page(limit=2, cursor=second.next_cursor)
    walked = [c.identities[0].value for c in first.items + second.items + third.items]
    assert walked == [f"c{n}@customer.test" for n in (4, 3, 2, 1, 0)]
    assert third.next_cursor is None


def test_customer_tickets_are_newest_first(ctx, inbound):
    old = receive(inbound, at(1))
    new = receive(inbound, at(3))
    receive(inbound, at(2), sender="someone@else.test")
    db.session.commit()

    assert customer_tickets(old.customer_id) == [new, old]
