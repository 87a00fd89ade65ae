"""Identities are claims until proven: a chat visitor who types someone else's address."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from itsdangerous import TimestampSigner
from sqlalchemy import func, select, text
from test_chat import Widget, chat_ticket

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import (
    ChatConversation,
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    Message,
    Ticket,
    TicketEvent,
    utcnow,
)
from helpdesk.tickets import service

VICTIM = "vera@customer.test"
LINK = re.compile(r"http://helpdesk\.test/verify/\S+")


@pytest.fixture
def site(setup, make_site):
    with setup():
        site = make_site(mailbox="help@shop.example")
        return {"key": site.address, "secret": site.settings["secret"]}


@pytest.fixture
def victim(setup, inbound) -> int:
    """A customer with history: a ticket from a real inbound email."""
    with setup():
        mail = inbound(sender=VICTIM, subject="Refund for order 1234", sender_name="Vera Victim")
        return service.receive(mail).ticket.customer_id


@pytest.fixture
def widget(client, site) -> Widget:
    return Widget(client, site["key"])


@pytest.fixture
def spoof(ctx, widget, victim, make_user) -> Ticket:
    """Mallory opens the chat and types the victim's address (nobody online: it is required)."""
    make_user(name="Bo Away")
    assert widget.start(name="Mallory", email=VICTIM.upper()).status_code == 201
    assert widget.send("What did I order last time?").status_code == 201
    return chat_ticket(ctx)


def claim_of(customer_id: int) -> CustomerIdentity:
    return db.session.scalars(
        select(CustomerIdentity).where(
            CustomerIdentity.customer_id == customer_id, CustomerIdentity.kind == IdentityKind.EMAIL
        )
    ).one()


def tickets_of(customer_id: int) -> list[int]:
    db.session.expire_all()
    return db.session.scalars(
        select(Ticket.number).where(Ticket.customer_id == customer_id).order_by(Ticket.number)
    ).all()


def log_in(client, make_user) -> None:
    agent = make_user(name="Ada Agent")
    client.post("/login", data={"email": agent.email, "password": "correct horse battery"})


def leave(ticket: Ticket) -> None:
    conversation = db.session.get(ChatConversation, ticket.conversation_id)
    conversation.last_seen_at -= timedelta(minutes=5)


def send_link(client, ticket: Ticket) -> Message:
    claim = claim_of(ticket.customer_id)
    sent = client.post(f"/tickets/{ticket.id}/identities/{claim.id}/verification")
    assert sent.status_code == 302, sent.text
    db.session.expire_all()
    return db.session.scalars(
        select(Message).where(Message.ticket_id == ticket.id, Message.recipient == VICTIM)
    ).one()


def test_a_typed_address_never_joins_the_chat_to_the_customer_who_owns_it(ctx, spoof, victim):
    assert spoof.customer_id != victim
    assert len(tickets_of(victim)) == 1  # the chat is not in the victim's history
    claim = claim_of(spoof.customer_id)
    assert (claim.value, claim.verified_at) == (VICTIM, None)
    assert claim_of(victim).verified_at is not None  # proven by the victim's own mail
    # The visitor's chat never learns whose the address is.
    assert spoof.customer.display_name == "Mallory"

    # The victim's own next mail stays theirs; the claim stays a claim.
    again = service.receive(
        InboundMessage(
            channel=Channel.EMAIL,
            endpoint="help@shop.example",
            external_id="<later@customer.test>",
            sender=VICTIM,
            subject=f"Another question [#{spoof.number}]",
            text="Hello again",
        )
    )
    db.session.commit()
    assert again.ticket.customer_id == victim and again.ticket_id != spoof.id
    assert claim_of(spoof.customer_id).verified_at is None


def test_the_agent_sees_the_claim_unverified_and_none_of_the_owners_tickets(
    ctx, client, spoof, victim, make_user
):
    log_in(client, make_user)
    page = client.get(f"/tickets/{spoof.id}").text
    assert re.search(rf"{re.escape(VICTIM)}\s*<span class=\"badge unverified\"", page)
    assert "Refund for order 1234" not in page
    assert "This is their only ticket." in page
    assert "Send verification link" in page
    profile = client.get(f"/customers/{spoof.customer_id}").text
    assert "unverified" in profile and "Refund for order 1234" not in profile
    # The owner's own page shows their proven address without the mark.
    owner = client.get(f"/customers/{victim}").text
    assert VICTIM in owner and "unverified" not in owner


def test_the_offline_reply_goes_to_the_typed_address_and_an_answer_from_it_joins(
    ctx, spoof, victim, make_user
):
    leave(spoof)
    reply = service.reply(spoof, make_user(name="Bo"), "You can see your orders on your account.")
    db.session.commit()
    # Only this conversation goes to the address the visitor typed, as they asked.
    assert (reply.channel, reply.recipient) == (Channel.EMAIL, VICTIM.upper())
    assert tickets_of(victim) != tickets_of(spoof.customer_id)

    answer = service.receive(
        InboundMessage(
            channel=Channel.EMAIL,
            endpoint="help@shop.example",
            external_id="<answer@customer.test>",
            sender=VICTIM,
            subject=f"Re: What did I order last time? [#{spoof.number}]",
            text="Thanks, found it.",
            thread_hints=(reply.external_id,),
        )
    )
    db.session.commit()
    assert answer.ticket_id == spoof.id
    # The address answered our mail about this conversation: the two are one customer now.
    assert spoof.number in tickets_of(victim)
    assert len(tickets_of(victim)) == 2
    assert db.session.get(Customer, victim).name == "Vera Victim"
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 1
    event = db.session.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == spoof.id, TicketEvent.kind == "identity-verified"
        )
    ).one()
    assert VICTIM in event.to_value and "mail" in event.to_value


def test_an_answer_fetched_with_other_mail_in_one_batch_joins_too(ctx, spoof, victim, make_user):
    leave(spoof)
    reply = service.reply(spoof, make_user(name="Bo"), "See your account page.")
    db.session.commit()
    assert spoof.number not in tickets_of(victim)

    def mail(external_id: str, sender: str, **fields) -> InboundMessage:
        return InboundMessage(
            channel=Channel.EMAIL,
            endpoint="help@shop.example",
            external_id=external_id,
            sender=sender,
            text="Hello",
            **{"subject": "Hello", **fields},
        )

    batch = [
        mail("<a@other.test>", "otto@other.test"),
        mail("<b@customer.test>", VICTIM, thread_hints=(reply.external_id,)),
        mail("<c@customer.test>", VICTIM, subject="And another thing"),
    ]
    # As a mailbox fetch takes them: one batch, lookups read up front.
    with db.session.begin_nested(), service.intake_batch(batch):
        taken = [service.take(msg).message for msg in batch]
    db.session.commit()
    assert taken[1].ticket_id == spoof.id
    assert spoof.number in tickets_of(victim) and taken[2].ticket.customer_id == victim
    assert db.session.scalar(select(func.count()).select_from(Customer)) == 2


def test_a_verification_link_from_the_ticket_page_joins_the_claim_when_opened(
    ctx, app, client, widget, spoof, victim, make_user
):
    log_in(client, make_user)
    link = send_link(client, spoof)
    # Mailed through the site's mailbox by the worker; automatic, so no first response.
    assert (link.channel, link.endpoint.address) == (Channel.EMAIL, "help@shop.example")
    assert (link.direction, link.delivery_state) == (Direction.OUTBOUND, DeliveryState.QUEUED)
    assert link.auto_submitted and link.author is None
    assert db.session.get(Ticket, spoof.id).first_response_at is None
    # The visitor's widget never shows it: only the address's owner may open it.
    assert [e["text"] for e in widget.stream()] == ["What did I order last time?"]
    assert tickets_of(victim) == tickets_of(victim)[:1]

    url = LINK.search(link.text).group(0)
    # Nor does the agent, who could be talked into passing it on.
    assert url not in client.get(f"/tickets/{spoof.id}").text
    opened = app.test_client().get(url.removeprefix("http://helpdesk.test"))
    assert opened.status_code == 200
    assert "confirmed" in opened.text and VICTIM in opened.text
    assert spoof.number in tickets_of(victim)
    event = db.session.scalars(
        select(TicketEvent).where(
            TicketEvent.ticket_id == spoof.id, TicketEvent.kind == "identity-verified"
        )
    ).one()
    assert "link" in event.to_value
    # The ticket page now shows the owner's history, and the address as proven.
    page = client.get(f"/tickets/{spoof.id}").text
    assert "Refund for order 1234" in page and "unverified" not in page
    # Opening it again changes nothing.
    again = app.test_client().get(url.removeprefix("http://helpdesk.test"))
    assert again.status_code == 200 and len(tickets_of(victim)) == 2


def test_a_link_to_an_address_nobody_holds_proves_it_for_the_visitor(
    ctx, app, client, widget, make_user
):
    make_user(name="Bo Away")
    widget.start(name="Nina", email="nina@customer.test")
    widget.send("Hello")
    ticket = chat_ticket(ctx)
    log_in(client, make_user)
    claim = claim_of(ticket.customer_id)
    sent = client.post(f"/tickets/{ticket.id}/identities/{claim.id}/verification")
    assert sent.status_code == 302
    db.session.expire_all()
    link = db.session.scalars(
        select(Message).where(Message.recipient == "nina@customer.test")
    ).one()
    url = LINK.search(link.text).group(0).removeprefix("http://helpdesk.test")
    assert app.test_client().get(url).status_code == 200
    db.session.expire_all()
    assert claim_of(ticket.customer_id).verified_at is not None
    # Proven, the address now finds the visitor: their next mail lands on them.
    mail = service.receive(
        InboundMessage(
            channel=Channel.EMAIL,
            endpoint="help@shop.example",
            external_id="<nina-1@customer.test>",
            sender="nina@customer.test",
            subject="One more thing",
            text="Hi",
        )
    )
    db.session.commit()
    assert mail.ticket.customer_id == ticket.customer_id


def test_a_tampered_or_expired_link_is_refused_with_a_clear_page(
    ctx, app, client, spoof, victim, make_user, monkeypatch
):
    log_in(client, make_user)
    url = LINK.search(send_link(client, spoof).text).group(0).removeprefix("http://helpdesk.test")
    tampered = app.test_client().get(url[:-3] + ("aaa" if not url.endswith("aaa") else "bbb"))
    assert tampered.status_code == 400
    assert "not valid" in tampered.text

    eight_days_ago = TimestampSigner.get_timestamp(TimestampSigner("x")) - 8 * 86400
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: eight_days_ago)
    db.session.execute(db.delete(Message).where(Message.recipient == VICTIM))
    db.session.commit()
    old = LINK.search(send_link(client, spoof).text).group(0).removeprefix("http://helpdesk.test")
    monkeypatch.undo()
    expired = app.test_client().get(old)
    assert expired.status_code == 400
    assert "expired" in expired.text
    assert tickets_of(victim) == tickets_of(victim)[:1]
    assert claim_of(spoof.customer_id).verified_at is None


def test_migration_0013_proves_what_came_by_message_and_keeps_typed_addresses_as_claims(
    unmigrated_app,
):
    with unmigrated_app.app_context():
        upgrade(revision="0010_ticket_numbers")
        mailer, chatter = _identities_as_0010_stored_them()
        upgrade(revision="0013_identity_verification")
        rows = db.session.execute(
            text(
                "SELECT customer_id, kind, value, verified_at IS NOT NULL FROM customer_identities "
                "ORDER BY id"
            )
        ).all()
        assert [tuple(row) for row in rows] == [
            (mailer, "email", "mia@customer.test", True),  # a mail came from it
            (mailer, "phone", "+15550002000", True),
            (chatter, "visitor", "visitor-1", True),
            (chatter, "host_user", "u-7", True),
            (chatter, "email", "typed@customer.test", False),  # only typed into the chat
        ]
        # Now anyone may claim a proven address; downgrading keeps one row per identity.
        db.session.execute(
            text(
                "INSERT INTO customer_identities (customer_id, kind, value, created_at) "
                "VALUES (:c, 'email', 'mia@customer.test', :now)"
            ),
            {"c": chatter, "now": utcnow()},
        )
        db.session.commit()
        db.session.remove()
        downgrade(revision="0010_ticket_numbers")
        rows = db.session.execute(
            text("SELECT customer_id, value, verified FROM customer_identities ORDER BY id")
        ).all()
        assert [(c, v, bool(flag)) for c, v, flag in rows] == [
            (mailer, "mia@customer.test", False),
            (mailer, "+15550002000", False),
            (chatter, "visitor-1", False),
            (chatter, "u-7", True),
            (chatter, "typed@customer.test", False),
        ]
        db.session.remove()
        db.engine.dispose()


def _identities_as_0010_stored_them() -> tuple[int, int]:
    """A customer who mailed us (and whose phone staff added), and a chat visitor who typed an
    address nobody mailed from; every identity stored unverified but the host user's."""
    now = utcnow()

    def insert(sql: str, **values) -> int:
        return db.session.scalar(text(f"{sql} RETURNING id"), {"now": now, **values})

    mailbox = insert(
        "INSERT INTO endpoints (channel, address, settings, created_at) "
        "VALUES ('email', 'help@shop.test', '{}', :now)"
    )
    customers = [
        insert("INSERT INTO customers (name, created_at) VALUES (:name, :now)", name=name)
        for name in ("Mia", "Chatter")
    ]
    for customer, kind, value in (
        (customers[0], "email", "mia@customer.test"),
        (customers[0], "phone", "+15550002000"),
        (customers[1], "visitor", "visitor-1"),
        (customers[1], "host_user", "u-7"),
        (customers[1], "email", "typed@customer.test"),
    ):
        insert(
            "INSERT INTO customer_identities (customer_id, kind, value, verified, created_at) "
            "VALUES (:customer, :kind, :value, :verified, :now)",
            customer=customer,
            kind=kind,
            value=value,
            verified=kind == "host_user",
        )
    ticket = insert(
        "INSERT INTO tickets (number, subject, status, priority, channel, endpoint_id, stage, "
        "intake_stage, stage_source, stage_reason, customer_id, created_at, updated_at, "
        "reopen_count) VALUES (1, 'Hi', 'new', 'normal', 'email', :mailbox, 'unknown', "
        "'unknown', 'rule', 'test', :customer, :now, :now, 0)",
        mailbox=mailbox,
        customer=customers[0],
    )
    insert(
        "INSERT INTO messages (ticket_id, direction, channel, endpoint_id, sender, text, "
        "auto_submitted, attempt_count, created_at) VALUES (:ticket, 'inbound', 'email', "
        ":mailbox, 'Mia@Customer.test', 'Hello', false, 0, :now)",
        ticket=ticket,
        mailbox=mailbox,
    )
    db.session.commit()
    return customers[0], customers[1]
