"""``helpdesk demo``: two months of believable requests, explained by real stage rules, once."""

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from channels.base import Channel, InboundMessage
from helpdesk import demo
from helpdesk.extensions import db
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    DeliveryState,
    Direction,
    IdentityKind,
    Message,
    Role,
    Stage,
    StageRule,
    StageSource,
    Survey,
    Ticket,
    TicketEvent,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import service
from helpdesk.tickets.stages import decide, ordered_rules, rule_matches


@pytest.fixture
def received(monkeypatch: pytest.MonkeyPatch) -> dict[tuple[Channel, str], InboundMessage]:
    """Every message the demo hands to the ticket service, by channel and external id."""
    messages: dict[tuple[Channel, str], InboundMessage] = {}
    receive = service.receive

    def record(msg: InboundMessage):
        messages[(msg.channel, msg.external_id)] = msg
        return receive(msg)

    monkeypatch.setattr(service, "receive", record)
    return messages


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot() -> dict[str, int]:
    models = (User, Customer, CustomerIdentity, Ticket, Message, TicketEvent, StageRule)
    return {model.__name__: count(model) for model in models}


def first_message(ticket: Ticket) -> Message:
    return next(m for m in ticket.messages if m.direction == Direction.INBOUND)


# The full thousand-ticket demo takes a minute; the smaller demo below covers PostgreSQL.
@pytest.mark.once
def test_demo_loads_two_months_of_requests_on_every_channel(ctx, runner, received):
    started = utcnow()
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "Tickets by stage: advocacy" in result.output
    for member in demo.STAFF:
        assert f"{member.role.value}  {member.email}  demo-password" in result.output.splitlines()

    roles = Counter(db.session.scalars(select(User.role)))
    assert roles == {Role.AGENT: 3, Role.MANAGER: 1, Role.ADMIN: 1}
    assert all(user.check_password("demo-password") for user in db.session.scalars(select(User)))

    assert 180 <= count(Customer) <= 220
    kinds = {kind: set() for kind in IdentityKind}
    for identity in db.session.scalars(select(CustomerIdentity)):
        kinds[identity.kind].add(identity.customer_id)
    assert len(kinds[IdentityKind.EMAIL] & kinds[IdentityKind.PHONE]) >= 20

    tickets = db.session.scalars(
        select(Ticket).options(selectinload(Ticket.messages), selectinload(Ticket.endpoint))
    ).all()
    assert 950 <= len(tickets) <= 1050
    assert all(started - timedelta(days=60) <= t.created_at <= utcnow() for t in tickets)
    assert db.session.scalar(select(func.max(TicketEvent.created_at))) <= utcnow()
    assert {t.channel for t in tickets} == set(Channel)
    assert {t.stage for t in tickets} >= set(Stage) - {Stage.UNKNOWN}

    statuses = Counter(t.status for t in tickets)
    assert statuses[TicketStatus.SOLVED] and statuses[TicketStatus.CLOSED]
    assert statuses[TicketStatus.NEW] + statuses[TicketStatus.OPEN] + statuses[TicketStatus.PENDING]
    assert count(select(TicketEvent).where(TicketEvent.kind == "reopened").subquery())
    follow_ups = [t for t in tickets if t.previous_ticket is not None]
    assert any(t.channel == Channel.EMAIL for t in follow_ups)
    assert all(t.previous_ticket.status == TicketStatus.CLOSED for t in follow_ups)
    assert len({t.priority for t in tickets}) == 4
    assert sum(t.assignee is None for t in tickets) < len(tickets) / 10

    _assert_conversations_are_threaded(tickets)
    _assert_stages_are_explained(tickets, received)

    # Satisfaction answers for the manager's report, on every channel; texts answered by SMS.
    rated = db.session.execute(
        select(Survey.channel, Survey.score, Ticket.status)
        .join(Ticket, Survey.ticket_id == Ticket.id)
        .where(Survey.score.is_not(None))
    ).all()
    assert len(rated) > 100 and {channel for channel, _, _ in rated} == set(Channel)
    assert {score for _, score, _ in rated} == {1, 2, 3, 4, 5}

    # The worker must not send two months of made-up replies.
    outbound = Counter(
        db.session.scalars(select(Message.delivery_state).where(Message.direction == "outbound"))
    )
    assert outbound[DeliveryState.QUEUED] == 0
    assert outbound[DeliveryState.DELIVERED] > 0.9 * sum(outbound.values())

    before = snapshot()
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert "already loaded" in again.output
    assert f"admin  {demo.STAFF[-1].email}  demo-password" in again.output
    assert snapshot() == before


def _assert_conversations_are_threaded(tickets: list[Ticket]) -> None:
    for channel in Channel:
        longest = max(sum(m.is_public for m in t.messages) for t in tickets if t.channel == channel)
        assert longest > 2, channel
    reasons = [m.thread_reason for t in tickets for m in t.messages]
    # Customers answer our email replies, which thread by our own Message-ID.
    assert any(r.startswith("reply to message <") for r in reasons)
    assert any(r.startswith("latest text conversation") for r in reasons)
    assert any(r.startswith("chat conversation") for r in reasons)
    assert "internal note" in reasons
    assert all(t.first_response_at for t in tickets if t.status == TicketStatus.SOLVED)


def _assert_stages_are_explained(tickets: list[Ticket], received: dict) -> None:
    """Each intake stage is what the engine says about the message that opened the ticket."""
    rules = ordered_rules()
    by_name = {rule.name: rule for rule in rules}
    sources = Counter()
    for ticket in tickets:
        stored = first_message(ticket)
        msg = received[(ticket.channel, stored.external_id)]
        assert (msg.text, msg.subject, msg.recipient) == (
            stored.text,
            stored.subject,
            stored.recipient,
        )
        decision = decide(msg, ticket.endpoint, rules)
        assert (decision.stage, decision.rule) == (ticket.intake_stage, ticket.intake_rule)
        if ticket.stage_source != StageSource.AGENT:
            assert (ticket.stage, ticket.stage_reason) == (decision.stage, decision.reason)
        if ticket.stage_source == StageSource.RULE:
            assert rule_matches(by_name[ticket.intake_rule], msg, ticket.endpoint)
        sources[ticket.stage_source] += 1
    assert sources[StageSource.RULE] > len(tickets) / 2
    assert sources[StageSource.ENDPOINT_DEFAULT] and sources[StageSource.CUSTOMER]
    corrected = [t for t in tickets if t.stage_source == StageSource.AGENT]
    assert corrected and all(t.stage != t.intake_stage for t in corrected)


def test_smaller_demo_then_any_rerun_adds_nothing(ctx, runner):
    result = runner.invoke(args=["demo", "--tickets", "80", "--customers", "20"])
    assert result.exit_code == 0, result.output
    assert count(Customer) == 20
    assert count(Ticket) == 80
    loaded = snapshot()
    for args in (["demo"], ["demo", "--tickets", "80", "--customers", "20"]):
        again = runner.invoke(args=args)
        assert again.exit_code == 0, again.output
        assert "already loaded" in again.output
        assert snapshot() == loaded
