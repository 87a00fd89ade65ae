"""The search box's grammar: words, prefixes, ticket numbers, email addresses, phone numbers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import insert, select, text

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketStatus
from helpdesk.tickets import search, service, word_matches
from helpdesk.tickets.endpoints import endpoint_for
from helpdesk.tickets.queries import (
    InvalidFilter,
    TicketFilter,
    customer_page,
    status_counts,
    ticket_page,
)


def found(q: str) -> set[int]:
    """The numbers of the tickets a search finds."""
    return {ticket.number for ticket in ticket_page(TicketFilter.from_args({"q": q}, me=0)).items}


@pytest.fixture
def desk(ctx, inbound) -> SimpleNamespace:
    """An email customer (Ann), a texting customer and tickets that mention numbers and words."""

    def receive(**fields):
        return service.receive(inbound(**fields)).ticket

    refund = receive(sender="Ann@Example.com", subject="Refund please", text="Order 1001 broke.")
    refused = receive(sender="ann@example.com", subject="Card refused", text="It said no.")
    texted = receive(channel="sms", sender="+15550101234", text="Where is my parcel?")
    texted_again = receive(channel="sms", sender="+15550101234", text="Parcel refunds?")
    other = receive(sender="bob@shop.test", subject="Invoice", text="Call me on 555 010 9999.")
    db.session.commit()
    return SimpleNamespace(
        refund=refund.number,
        refused=refused.number,
        texted=texted.number,
        texted_again=texted_again.number,
        other=other.number,
    )


def test_a_word_stays_a_whole_word(desk):
    assert found("refund") == {desk.refund}
    assert found("refu") == set()


def test_a_star_makes_a_prefix(desk):
    assert found("refu*") == {desk.refund, desk.refused, desk.texted_again}
    assert found("REFUND*") == {desk.refund, desk.texted_again}, "case is folded"
    assert found("refu* card") == {desk.refused}, "every term must match"
    assert found("parc* refu*") == {desk.texted_again}


def test_a_prefix_of_many_words_finds_the_same(desk, monkeypatch):
    # Past this many words a prefix is left to the index's own prefix search.
    monkeypatch.setattr(word_matches, "_MOST_PREFIX_WORDS", 1)
    assert found("refu*") == {desk.refund, desk.refused, desk.texted_again}
    assert found("parc* refu*") == {desk.texted_again}


@pytest.mark.parametrize("most_words", [1, 40], ids=["as-a-prefix", "spelled-out"])
def test_a_prefix_counts_what_its_words_count(desk, make_user, monkeypatch, most_words):
    """Counted status by status, a prefix asked as its words or as a prefix finds the tickets
    its whole words find, words written after the ticket was opened (a note) included."""
    monkeypatch.setattr(word_matches, "_FEW", 0)  # read status by status, as for common words
    monkeypatch.setattr(word_matches, "_MOST_PREFIX_WORDS", most_words)
    agent = make_user()
    other = db.session.scalar(select(Ticket).where(Ticket.number == desk.other))
    service.add_note(other, agent, "Refurbished one sent instead.")
    service.set_status(other, agent, "open")
    db.session.commit()
    assert "refurbished" in search.prefix_words(db.session.connection(), "refu", 40)

    def counted(q: str) -> dict[str, str]:
        counts = status_counts(TicketFilter.from_args({"q": q}, me=0))
        return {status.value: str(count) for status, count in counts.items() if count.value}

    # The two texts are one ticket (one SMS conversation).
    assert counted("refu*") == {"new": "3", "open": "1"}
    assert counted("refur*") == counted("refurbished") == {"open": "1"}
    assert counted("refun*") == {"new": "2"}
    assert counted("parc* refu*") == {"new": "1"}
    assert counted("refuz*") == {}


@pytest.mark.postgresql
def test_a_new_word_two_requests_bring_at_once_is_spelled_out_once(app, ctx, inbound):
    endpoint_for(Channel.EMAIL, "support@shop.test")
    db.session.commit()
    first = service.receive(inbound(sender="ada@customer.test", text="Zephyrine kettle leaks"))
    with app.app_context():
        # The first transaction is still open: listing the same new words must not wait for it.
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        service.receive(inbound(sender="bob@customer.test", text="Zephyrine kettle leaks"))
        db.session.commit()
        db.session.remove()
    db.session.commit()
    assert search.prefix_words(db.session.connection(), "zephyr", 40) == ["zephyrine"]
    assert found("zephyr*") == {first.ticket.number, first.ticket.number + 1}


def test_a_prefix_needs_two_characters(desk):
    with pytest.raises(InvalidFilter, match="at least 2"):
        found("r*")
    assert found("re*") == {desk.refund, desk.refused, desk.texted_again}


@pytest.mark.parametrize("written", ["{}", "#{}", "#{},", " {} "])
def test_a_number_finds_that_ticket(desk, written):
    assert found(written.format(desk.other)) == {desk.other}


def test_a_number_also_finds_it_as_a_word(desk):
    assert 1001 not in vars(desk).values()
    assert found("1001") == {desk.refund}
    assert found(f"{desk.refund} refund") == {desk.refund}
    assert found(f"#{desk.other} refund") == set(), "the number is one term of several"


def test_a_number_beyond_any_ticket_is_only_a_word(desk):
    assert found("99999999999999999999") == set()


@pytest.mark.parametrize("written", ["ann@example.com", "ANN@EXAMPLE.COM", "<ann@example.com>,"])
def test_an_email_address_finds_its_customers_tickets(desk, written):
    assert found(written) == {desk.refund, desk.refused}


def test_an_email_address_with_words(desk):
    assert found("ann@example.com card") == {desk.refused}
    assert found("nobody@example.com") == set()


@pytest.mark.parametrize(
    "written",
    [
        "+15550101234",
        "+1 555 010 1234",
        "+1 (555) 010-1234",
        "555-010-1234",
        "(555) 010-1234",
        "555.010.1234",
        "5550101234",
        "1-555-010-1234",
    ],
)
def test_a_phone_number_in_any_common_format_finds_its_customers_tickets(desk, written):
    assert found(written) == {desk.texted, desk.texted_again}


def test_a_phone_number_with_words_and_numbers(desk):
    assert found("+1 555 010 1234 parcel refunds") == {desk.texted_again}
    assert found(f"+1 555 010 1234 #{desk.texted}") == {desk.texted}
    assert found("555 010 9999") == {desk.other}, "a number in the text is found by its words"


def test_national_numbers_follow_the_configured_region(app, desk, inbound):
    london = service.receive(inbound(channel="sms", sender="+442079460958")).ticket.number
    db.session.commit()
    assert found("020 7946 0958") == set(), "read as a US number, it is nobody's"
    app.config["HELPDESK_PHONE_REGION"] = "GB"
    try:
        assert found("020 7946 0958") == {london}
        assert found("+1 555 010 1234") == {desk.texted, desk.texted_again}
    finally:
        app.config["HELPDESK_PHONE_REGION"] = "US"


def test_counts_follow_the_grammar(desk):
    counts = status_counts(TicketFilter.from_args({"q": "ann@example.com"}, me=0))
    assert counts[TicketStatus.NEW].value == 2 and not counts[TicketStatus.NEW].capped


def test_counts_stop_at_a_thousand(ctx, inbound):
    first = service.receive(inbound(sender="many@example.com", text="note 0")).ticket
    db.session.flush()
    # The other thousand are copies of the first, inserted at once (taking each in through the
    # service took half a minute).
    row = {column.key: getattr(first, column.key) for column in Ticket.__table__.columns}
    del row["id"]
    db.session.execute(
        insert(Ticket), [{**row, "number": first.number + n} for n in range(1, 1001)]
    )
    db.session.commit()
    counts = status_counts(TicketFilter.from_args({"q": "many@example.com"}, me=0))
    assert str(counts[TicketStatus.NEW]) == "1,000+"


def test_customers_are_found_by_name_email_and_phone(ctx, inbound):
    service.receive(inbound(sender="ann@example.com", sender_name="Ann Lee"))
    service.receive(inbound(channel="sms", sender="+15550101234"))
    service.receive(inbound(sender="grace@navy.test", sender_name="Grace Hopper"))
    db.session.commit()

    def names(q: str) -> list[str]:
        return [customer.display_name for customer in customer_page(q).items]

    assert names("ann") == ["Ann Lee"], "part of a name"
    assert names("lee ANN") == ["Ann Lee"]
    assert names("ann@example.com") == ["Ann Lee"]
    assert names("example") == ["Ann Lee"], "part of an address"
    for written in ("+1 (555) 010-1234", "555-010-1234", "+15550101234", "555 010 1234"):
        assert names(written) == ["+15550101234"], written
    assert names("010-1234") == ["+15550101234"], "part of a number, written with dashes"
    assert names("hopp*") == ["Grace Hopper"]
    assert names("grace 555-010-1234") == []
