"""The ticket service: intake, customers, threading, reopening and agent actions."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from channels.base import Channel, InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    Message,
    Priority,
    Stage,
    StageSource,
    Ticket,
    TicketStatus,
)
from helpdesk.storage import blob_store
from helpdesk.tickets import service
from helpdesk.tickets.endpoints import endpoint_for
from helpdesk.tickets.errors import InvalidInput, TicketError

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def kinds(ticket: Ticket) -> list[str]:
    return [event.kind for event in ticket.events]


# --- intake and de-duplication ---------------------------------------------------------------


def test_first_email_opens_a_new_ticket_for_a_new_customer(ctx, inbound):
    message = service.receive(
        inbound(sender="Ada@Customer.test", sender_name="Ada Lovelace", subject="Broken kettle")
    )
    ticket = message.ticket
    assert ticket.number == 1
    assert ticket.status == TicketStatus.NEW
    assert ticket.subject == "Broken kettle"
    assert ticket.channel == Channel.EMAIL
    assert ticket.endpoint.address == "support@shop.test"
    assert ticket.customer.name == "Ada Lovelace"
    assert ticket.customer.identity(IdentityKind.EMAIL) == "ada@customer.test"
    assert message.thread_reason == "new request"
    assert kinds(ticket) == ["created"]


def test_ticket_numbers_count_up(ctx, inbound):
    numbers = [service.receive(inbound(sender=f"c{i}@x.test")).ticket.number for i in range(3)]
    assert numbers == [1, 2, 3]


def test_replaying_a_message_changes_nothing(ctx, inbound):
    msg = inbound(external_id="<same@customer.test>")
    assert service.receive(msg) is not None
    db.session.commit()
    assert service.receive(msg) is None
    assert count(Message) == 1
    assert count(Ticket) == 1


def test_same_external_id_on_another_endpoint_is_another_message(ctx, inbound):
    service.receive(inbound(external_id="SM1", channel="sms"))
    service.receive(inbound(external_id="SM1", channel="sms", endpoint="+15550009999"))
    assert count(Message) == 2


def test_sms_without_text_gets_a_readable_subject(ctx, inbound):
    ticket = service.receive(inbound("sms", text="", sender_name=None)).ticket
    assert ticket.subject == "sms message from +15550002000"


def test_long_first_line_is_shortened_for_the_subject(ctx, inbound):
    ticket = service.receive(inbound("sms", text="word " * 40)).ticket
    assert len(ticket.subject) == 80 and ticket.subject.endswith("…")


def test_attachments_are_stored_content_addressed(ctx, inbound):
    files = (
        InboundAttachment("a.txt", "text/plain", b"same bytes"),
        InboundAttachment("b.txt", "text/plain", b"same bytes"),
    )
    message = service.receive(inbound(attachments=files))
    first, second = message.attachments
    assert first.storage_key == second.storage_key
    assert first.size == 10
    assert blob_store().get(first.storage_key) == b"same bytes"


# --- customers -----------------------------------------------------------------------------------


def test_one_customer_per_address_whatever_the_case(ctx, inbound):
    a = service.receive(inbound(sender="bob@x.test")).ticket
    b = service.receive(inbound(sender="BOB@X.TEST", subject="another question")).ticket
    assert a.id != b.id
    assert a.customer_id == b.customer_id


def test_phone_numbers_are_normalised_to_e164(ctx, inbound):
    ticket = service.receive(inbound("sms", sender="+1 (555) 000-2000")).ticket
    assert ticket.customer.identity(IdentityKind.PHONE) == "+15550002000"


def test_an_impossible_phone_number_is_refused(ctx, inbound):
    with pytest.raises(InvalidInput):
        service.receive(inbound("sms", sender="12"))
    assert count(Ticket) == 0


def test_a_person_with_email_and_phone_is_one_customer(ctx, inbound):
    customer = service.receive(inbound(sender="carol@x.test")).ticket.customer
    db.session.add(
        CustomerIdentity(
            customer=customer,
            kind=IdentityKind.PHONE,
            value="+15550002000",
            verified_at=datetime.now(UTC),
        )
    )
    sms_ticket = service.receive(inbound("sms", sender="+15550002000")).ticket
    assert sms_ticket.customer_id == customer.id


def test_a_chat_visitor_is_linked_by_a_signed_host_user_never_by_a_typed_address(ctx, inbound):
    dan = service.receive(inbound(sender="dan@x.test")).ticket.customer
    typed = service.receive(
        inbound("chat", sender="visitor-7", host_user_id="u-42", email="Dan@x.test")
    ).ticket
    assert typed.customer_id != dan.id
    values = {(i.kind, i.value, i.verified) for i in typed.customer.identities}
    assert values == {
        (IdentityKind.HOST_USER, "u-42", True),
        (IdentityKind.VISITOR, "visitor-7", True),
        (IdentityKind.EMAIL, "dan@x.test", False),
    }
    # The host site signs its user: a later chat of that user, from any browser, is theirs.
    signed = service.receive(
        inbound("chat", sender="visitor-8", host_user_id="u-42", conversation_id="c8")
    ).ticket
    assert signed.customer_id == typed.customer_id
    assert count(Customer) == 2


def test_an_identity_held_by_someone_else_is_never_moved(ctx, inbound):
    erin = service.receive(inbound("chat", sender="visitor-1", host_user_id="erin")).ticket.customer
    frank = service.receive(inbound(sender="frank@x.test")).ticket.customer
    service.receive(inbound("chat", sender="visitor-1", email="frank@x.test", conversation_id="c2"))
    holders = db.session.execute(
        select(CustomerIdentity.customer_id, CustomerIdentity.verified_at.is_not(None))
        .where(CustomerIdentity.value == "frank@x.test")
        .order_by(CustomerIdentity.id)
    ).all()
    # Frank's address stays his; Erin typing it records only her claim.
    assert holders == [(frank.id, True), (erin.id, False)]
    assert erin.id != frank.id


# --- threading -----------------------------------------------------------------------------------


def test_reply_to_our_message_id_threads(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound()).ticket
    ours = service.reply(ticket, agent, "Have you tried descaling it?")
    message = service.receive(
        inbound(subject="Re: something else", thread_hints=(ours.external_id,))
    )
    assert message.ticket_id == ticket.id
    assert message.thread_reason == f"reply to message {ours.external_id}"


def test_references_to_the_customers_own_earlier_mail_thread(ctx, inbound):
    first = service.receive(inbound(external_id="<one@customer.test>"))
    again = service.receive(
        inbound(subject="forgot to attach", thread_hints=("<one@customer.test>",))
    )
    assert again.ticket_id == first.ticket_id


def test_subject_token_threads_for_a_participant(ctx, inbound):
    ticket = service.receive(inbound()).ticket
    message = service.receive(inbound(subject=f"Re: Help [#{ticket.number}]"))
    assert message.ticket_id == ticket.id
    assert "subject token" in message.thread_reason


def test_subject_token_from_a_stranger_opens_a_new_ticket(ctx, inbound):
    ticket = service.receive(inbound()).ticket
    message = service.receive(inbound(sender="mallory@x.test", subject=f"[#{ticket.number}]"))
    assert message.ticket_id != ticket.id


def test_the_same_subject_alone_never_threads(ctx, inbound):
    a = service.receive(inbound(subject="Order question"))
    b = service.receive(inbound(subject="Order question"))
    assert a.ticket_id != b.ticket_id


def test_texts_from_one_number_to_one_endpoint_form_one_conversation(ctx, inbound):
    a = service.receive(inbound("sms", text="Hi"))
    b = service.receive(inbound("sms", text="Are you there?"))
    other = service.receive(inbound("sms", text="Hi", endpoint="+15550003000"))
    assert a.ticket_id == b.ticket_id
    assert other.ticket_id != a.ticket_id
    assert b.thread_reason == "latest text conversation with +15550002000"


def test_chat_messages_of_one_conversation_share_a_ticket(ctx, inbound):
    a = service.receive(inbound("chat", conversation_id="conv-1"))
    b = service.receive(inbound("chat", conversation_id="conv-1", text="still here"))
    c = service.receive(inbound("chat", conversation_id="conv-2"))
    assert a.ticket_id == b.ticket_id != c.ticket_id


# --- reopening -----------------------------------------------------------------------------------


def _solved_sms_ticket(inbound, solved_at: datetime) -> Ticket:
    ticket = service.receive(inbound("sms", received_at=solved_at - timedelta(hours=1))).ticket
    service.set_status(ticket, None, TicketStatus.SOLVED, at=solved_at)
    return ticket


def test_a_customer_message_within_the_window_reopens_a_solved_ticket(ctx, inbound):
    ticket = _solved_sms_ticket(inbound, T0)
    message = service.receive(inbound("sms", received_at=T0 + timedelta(days=6)))
    assert message.ticket_id == ticket.id
    assert ticket.status == TicketStatus.OPEN
    assert ticket.solved_at is None
    assert ticket.events[-1].kind == "reopened"


def test_after_the_window_a_follow_up_ticket_is_linked(ctx, inbound):
    ticket = _solved_sms_ticket(inbound, T0)
    message = service.receive(inbound("sms", received_at=T0 + timedelta(days=8)))
    assert message.ticket_id != ticket.id
    assert message.ticket.previous_ticket_id == ticket.id
    assert ticket.status == TicketStatus.SOLVED
    assert "solved too long ago" in message.thread_reason


def test_a_message_on_a_closed_ticket_opens_a_linked_one(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound()).ticket
    ours = service.reply(ticket, agent, "Done.")
    service.set_status(ticket, agent, TicketStatus.CLOSED)
    message = service.receive(inbound(thread_hints=(ours.external_id,)))
    assert message.ticket.previous_ticket_id == ticket.id
    assert message.ticket.status == TicketStatus.NEW


def test_the_reopen_window_is_configurable(app, ctx, inbound, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_REOPEN_DAYS", 1)
    ticket = _solved_sms_ticket(inbound, T0)
    message = service.receive(inbound("sms", received_at=T0 + timedelta(days=2)))
    assert message.ticket_id != ticket.id


def test_a_customer_answer_moves_pending_back_to_open(ctx, inbound):
    ticket = service.receive(inbound("sms")).ticket
    service.set_status(ticket, None, TicketStatus.PENDING)
    service.receive(inbound("sms", text="here is the photo"))
    assert ticket.status == TicketStatus.OPEN


def test_an_automatic_reply_never_reopens(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound()).ticket
    ours = service.reply(ticket, agent, "Solved, I think.")
    service.set_status(ticket, agent, TicketStatus.SOLVED)
    message = service.receive(
        inbound(subject="Out of office", thread_hints=(ours.external_id,), auto_submitted=True)
    )
    assert message.ticket_id == ticket.id
    assert ticket.status == TicketStatus.SOLVED
    assert message.thread_reason.endswith("(automatic message)")


# --- agent actions ------------------------------------------------------------------------------


def test_a_reply_is_queued_on_the_tickets_channel(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound(sender="gina@x.test", subject="Refund")).ticket
    reply = service.reply(ticket, agent, "  Refund is on its way.  ")
    assert reply.direction == Direction.OUTBOUND
    assert reply.delivery_state == DeliveryState.QUEUED
    assert reply.recipient == "gina@x.test"
    assert reply.subject == f"Re: Refund [#{ticket.number}]"
    assert reply.external_id.endswith("@helpdesk.test>")
    assert reply.text == "Refund is on its way."
    assert reply.next_attempt_at is not None
    assert ticket.status == TicketStatus.OPEN


def test_first_response_is_the_first_public_agent_reply(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound(received_at=T0)).ticket
    service.add_note(ticket, agent, "Checking the warehouse", at=T0 + timedelta(minutes=5))
    assert ticket.first_response_at is None
    service.reply(ticket, agent, "On it", at=T0 + timedelta(minutes=30))
    service.reply(ticket, agent, "Shipped", at=T0 + timedelta(hours=2))
    assert ticket.first_response_at == T0 + timedelta(minutes=30)


def test_a_note_is_never_sent(ctx, inbound, make_user):
    ticket = service.receive(inbound()).ticket
    note = service.add_note(ticket, make_user(), "VIP customer")
    assert note.direction == Direction.NOTE
    assert note.delivery_state is None
    assert kinds(ticket) == ["created", "note"]


def test_empty_text_is_refused(ctx, inbound, make_user):
    ticket = service.receive(inbound()).ticket
    with pytest.raises(InvalidInput):
        service.reply(ticket, make_user(), "   ")
    with pytest.raises(InvalidInput):
        service.add_note(ticket, make_user(), "")


def test_assigning_is_audited(ctx, inbound, make_user):
    lead, agent = make_user(), make_user(email="hana@helpdesk.test")
    ticket = service.receive(inbound()).ticket
    service.assign(ticket, lead, agent)
    service.assign(ticket, lead, agent)  # no change, no event
    service.assign(ticket, lead, None)
    events = [(e.kind, e.from_value, e.to_value, e.actor_id) for e in ticket.events[1:]]
    assert events == [
        ("assignee", None, "hana@helpdesk.test", lead.id),
        ("assignee", "hana@helpdesk.test", None, lead.id),
    ]


def test_a_deactivated_user_cannot_take_tickets(ctx, inbound, make_user):
    ticket = service.receive(inbound()).ticket
    with pytest.raises(TicketError):
        service.assign(ticket, None, make_user(active=False))


def test_status_changes_are_audited_and_stamp_solved_at(ctx, inbound, make_user):
    agent = make_user()
    ticket = service.receive(inbound()).ticket
    service.set_status(ticket, agent, "solved", at=T0)
    assert ticket.solved_at == T0
    service.set_status(ticket, agent, TicketStatus.OPEN)
    assert ticket.solved_at is None
    assert [(e.from_value, e.to_value) for e in ticket.events[1:]] == [
        ("new", "solved"),
        ("solved", "open"),
    ]
    with pytest.raises(InvalidInput, match="unknown status"):
        service.set_status(ticket, agent, "done")


def test_priority_changes_are_audited(ctx, inbound, make_user):
    ticket = service.receive(inbound()).ticket
    service.set_priority(ticket, make_user(), "urgent")
    assert ticket.priority == Priority.URGENT
    assert (ticket.events[-1].from_value, ticket.events[-1].to_value) == ("normal", "urgent")


def test_correcting_the_stage_keeps_what_intake_said(ctx, inbound, make_user):
    agent = make_user(name="Ivy")
    ticket = service.receive(inbound()).ticket
    service.set_stage(ticket, agent, Stage.PURCHASE)
    assert ticket.stage == Stage.PURCHASE
    assert ticket.intake_stage == Stage.UNKNOWN
    assert ticket.stage_source == StageSource.AGENT
    assert ticket.stage_reason == "set by Ivy"
    assert (ticket.events[-1].kind, ticket.events[-1].to_value) == ("stage", "purchase")


def test_endpoints_are_normalised_by_channel(ctx, inbound):
    email = service.receive(inbound(endpoint="Support@Shop.TEST")).ticket.endpoint
    pooled = service.receive(inbound("sms", endpoint="MGabc123DEF")).ticket.endpoint
    number = service.receive(inbound("sms", endpoint="+1 555 000 1000")).ticket.endpoint
    assert (email.address, pooled.address, number.address) == (
        "support@shop.test",
        "MGabc123DEF",
        "+15550001000",
    )


@pytest.mark.postgresql
def test_tickets_opened_at_once_get_numbers_without_waiting_for_each_other(app, ctx, inbound):
    endpoint_for(Channel.EMAIL, "support@shop.test")
    db.session.commit()
    first = service.receive(inbound(sender="ada@customer.test"))  # its transaction stays open
    with app.app_context():
        # Were the ticket number locked by the open transaction, fail instead of waiting.
        db.session.execute(text("SET LOCAL lock_timeout = '5s'"))
        other = service.receive(inbound(sender="bob@customer.test"))
        db.session.commit()
        other_number = other.ticket.number
        db.session.remove()
    db.session.commit()
    assert sorted([first.ticket.number, other_number]) == [1, 2]


def test_a_customer_is_one_since_their_first_message_was_received(ctx, inbound, client, login):
    # Once shown as "customer since" the day the mail was taken in, not the day it was sent.
    weeks_ago = datetime(2026, 10, 1, 9, 30, tzinfo=UTC)
    intake = service.receive(inbound(sender="old@customer.test", received_at=weeks_ago))
    db.session.commit()
    customer = db.session.get(Ticket, intake.ticket_id).customer
    assert customer.created_at == weeks_ago
    login()
    page = client.get(f"/customers/{customer.id}").text
    assert "Customer since 01 Oct 2026" in page
