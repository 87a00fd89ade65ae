"""Demo data: a coffee roaster's helpdesk with two months of requests on every channel.

Everything goes through the ticket service, back-dated: customers write (``service.receive``)
and agents answer, note, assign, correct stages and solve (``service.reply`` and friends), in
time order across all tickets, so numbering, threading, reopening and follow-ups come out the
way the real rules make them. Stages come from the stage rules created here, which the
customers' messages genuinely match.

Loading is idempotent: staff, endpoints and rules are created when missing, and the
conversations only when none of their (seed-derived) message ids is stored yet.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from channels.base import InboundAttachment
from helpdesk import saved_views, teams
from helpdesk.demo.company import (
    COMPANY,
    DOMAIN,
    MACROS,
    MAILBOX,
    PASSWORD,
    RULES,
    SEED,
    SITE,
    SLA_TARGETS,
    STAFF,
    SURVEY_KINDS,
    TEAMS,
    TEXT_LINE,
    URGENT_ROUTING,
    VIEWS,
)
from helpdesk.demo.content import (
    CHAT,
    EMAIL,
    MAX_CUSTOMERS,
    SMS,
)
from helpdesk.demo.planning import Plan, _plan
from helpdesk.demo.stories import Cast, Story, _external_id, _play
from helpdesk.extensions import db
from helpdesk.models import (
    Customer,
    CustomerIdentity,
    DeliveryAttempt,
    DeliveryState,
    Direction,
    FollowUpMode,
    IdentityKind,
    Message,
    Role,
    Stage,
    StageRule,
    Survey,
    Ticket,
    User,
    utcnow,
)
from helpdesk.outbox import AttemptOutcome
from helpdesk.tickets import (
    endpoints,
    outreach,
    routing,
    routing_rules,
    service,
    sla,
    sms,
    survey_settings,
)
from helpdesk.tickets.attachments import _store_attachments

# What the CLI, the demo channels and the tests read of the demo company.
__all__ = [
    "COMPANY",
    "DOMAIN",
    "MAILBOX",
    "MAX_CUSTOMERS",
    "PASSWORD",
    "SITE",
    "STAFF",
    "TEXT_LINE",
    "load",
    "reach_out",
]


def load(tickets: int = 1000, customers: int = 200, seed: int = SEED) -> bool:
    """Load the demo (flushes); False when its conversations are already there."""
    users = _ensure_staff()
    _ensure_teams(users)
    _ensure_views(users)
    _ensure_channels()
    _ensure_targets()
    _ensure_surveys()
    _ensure_macros()
    now = utcnow().replace(microsecond=0)
    rng = random.Random(seed)
    plans = _plan(rng, tickets, customers, now)
    if _already_loaded(plans, seed):
        return False
    agents = [(member, users[member.email]) for member in STAFF if member.role == Role.AGENT]
    manager = next(users[m.email] for m in STAFF if m.role == Role.MANAGER)
    cast = Cast(agents, manager, seed, now)
    _play([Story(p, cast) for p in plans], cutoff=now - timedelta(minutes=1))
    _settle_deliveries(cast.outbound, now)
    _add_working_details(rng, cast)
    _follow_up_unhappy_answers(rng, cast, now)
    db.session.flush()
    return True


# Tags agents put on tickets, by a word of the subject (the first that matches wins).
DEMO_TAGS = {
    "refund": "refund",
    "invoice": "billing",
    "order": "order",
    "subscription": "subscription",
    "broken": "defect",
    "noise": "defect",
    "wholesale": "b2b",
}
# A customer's own file (its name in their script) and the one agents send back.
WARRANTY_CARD = InboundAttachment(
    "гарантийный талон.pdf", "application/pdf", b"%PDF-1.4\n% Ridgeline warranty card\n"
)
BREW_GUIDE = InboundAttachment(
    "Ridgeline brew guide.pdf", "application/pdf", b"%PDF-1.4\n% Ridgeline brew guide\n"
)


def _add_working_details(rng: random.Random, cast: Cast) -> None:
    """What agents leave on tickets while they work them: tags, files both ways, and the
    colleagues a customer copies on their mail."""
    db.session.flush()
    tickets = list(db.session.scalars(select(Ticket).order_by(Ticket.id)))
    agent = cast.agents[0][1]
    for ticket in tickets:
        words = ticket.subject.lower()
        tag = next((tag for word, tag in DEMO_TAGS.items() if word in words), None)
        if tag and rng.random() < 0.6:
            # Never later than now: a request that came in minutes ago is tagged already.
            service.add_tag(
                ticket, agent, tag, at=min(ticket.created_at + timedelta(minutes=30), cast.now)
            )
        if ticket.customer.name and rng.random() < 0.04:
            service.add_tag(
                ticket, agent, "vip", at=min(ticket.created_at + timedelta(minutes=31), cast.now)
            )
    email = [t for t in tickets if t.channel == EMAIL and len(t.messages) > 1]
    for ticket in email[-40::8]:
        _store_attachments(ticket.messages[0], [WARRANTY_CARD])
    for message in [m for m in cast.outbound if m.channel == EMAIL][-60::10]:
        _store_attachments(message, [BREW_GUIDE])
    for ticket in email[-30::10]:
        address = ticket.customer.identity(IdentityKind.EMAIL) or "someone@example.com"
        colleague = f"orders@{address.split('@')[1]}"
        ticket.cc = [colleague]
        for message in ticket.messages:
            if message.direction == Direction.OUTBOUND:
                message.cc = [colleague]


def _follow_up_unhappy_answers(rng: random.Random, cast: Cast, now: datetime) -> None:
    """Most flagged answers were followed up within a day or so; the latest still wait."""
    flagged = db.session.scalars(
        select(Survey).where(Survey.follow_up == FollowUpMode.FLAG).order_by(Survey.id)
    )
    for survey in flagged:
        done = survey.answered_at + timedelta(hours=rng.uniform(1, 30))
        if done < now and rng.random() < 0.7:
            service.mark_followed_up(survey.ticket, survey.ticket.assignee or cast.manager, at=done)


# What agents wrote first to long-standing customers, so the reports show proactive tickets.
OUTREACH_SUBJECT = "Your Ridgeline grinder is due for a burr check"
OUTREACH_TEXT = (
    "Hello! It has been a while since your grinder arrived. Burrs dull after about a year of "
    "daily use; reply to this mail if you would like us to send a free replacement set."
)


def reach_out(seed: int = SEED) -> None:
    """A dozen conversations agents started with customers at the cultivation stage, sent from
    the demo mailbox (so call it once that mailbox has its SMTP server); flushes."""
    rng = random.Random(seed)
    now = utcnow().replace(microsecond=0)
    agents = list(db.session.scalars(select(User).where(User.role == Role.AGENT)))
    proven = (
        select(Customer)
        .join(CustomerIdentity)
        .where(
            CustomerIdentity.kind == IdentityKind.EMAIL,
            CustomerIdentity.verified_at.is_not(None),
        )
        .order_by(Customer.id)
    )
    customers = list(db.session.scalars(proven))
    started: list[Message] = []
    for customer in rng.sample(customers, min(12, len(customers))):
        draft = outreach.Draft(
            customer, EMAIL, OUTREACH_TEXT, OUTREACH_SUBJECT, stage=Stage.CULTIVATION
        )
        at = now - timedelta(days=rng.uniform(1, 28))
        ticket = outreach.start_conversation(draft, rng.choice(agents), keep=True, at=at)
        started.extend(ticket.messages)
    _settle_deliveries(started, now)
    db.session.flush()


def _ensure_staff() -> dict[str, User]:
    users = {}
    for member in STAFF:
        user = db.session.scalar(select(User).where(User.email == member.email))
        if user is None:
            user = User(email=member.email, name=member.name, role=member.role)
            user.set_password(PASSWORD)
            db.session.add(user)
        users[member.email] = user
    db.session.flush()
    return users


def _ensure_teams(users: dict[str, User]) -> None:
    """The teams, each made with its members when no team of its name exists yet, and the
    routing rules that send each journey stage to its team (when there are none yet)."""
    for name, members, assignment, _stages in TEAMS:
        if teams.team_by_name(name) is None:
            team = teams.create_team(name, assignment=assignment, capacity=8)
            teams.set_members(team, [users[email] for email in members])
    if routing.ordered_rules():
        return
    for name, words, team_name, priority in URGENT_ROUTING:
        team = teams.team_by_name(team_name)
        routing_rules.add_rule(name, {"subject_words": words}, team=team, priority=priority)
    for team_name, _members, _assignment, stages in TEAMS:
        team = teams.team_by_name(team_name)
        for stage in stages:
            name = f"{stage.value.capitalize()} to {team_name}"
            routing_rules.add_rule(name, {"stage": stage.value}, team=team)


def _ensure_views(users: dict[str, User]) -> None:
    """The agents' saved views, each made when its owner has none of that name yet."""
    for email, name, filters, team_name in VIEWS:
        owner = users[email]
        if any(view.name == name for view in saved_views.manageable_views(owner)):
            continue
        # A team's id is known once it exists: "{Sales}" stands for it.
        args = {key: _team_id_in(value) for key, value in filters.items()}
        team = teams.team_by_name(team_name) if team_name else None
        saved_views.create_view(owner, name, args, team)


def _team_id_in(value: str) -> str:
    if value.startswith("{") and value.endswith("}"):
        return str(teams.team_by_name(value[1:-1]).id)
    return value


def _ensure_channels() -> None:
    for channel, address, name, stage in (
        (EMAIL, MAILBOX, f"{COMPANY} support", Stage.USE),
        (SMS, TEXT_LINE, f"{COMPANY} text line", Stage.USE),
        # No default: a chat on a page no rule knows stays unknown until an agent looks.
        (CHAT, SITE, f"{SITE} website chat", None),
    ):
        endpoint = endpoints.endpoint_for(channel, address)
        endpoint.name = endpoint.name or name
        endpoint.default_stage = endpoint.default_stage or stage
    # Registered as an admin would, so the channels page lists the text line as connected.
    sms.add_number(number=TEXT_LINE)
    existing = set(db.session.scalars(select(StageRule.name)))
    for position, (name, stage, conditions) in enumerate(RULES, start=1):
        if name not in existing:
            db.session.add(StageRule(name=name, position=position * 10, stage=stage, **conditions))
    db.session.flush()


def _ensure_targets() -> None:
    """Service targets per stage, buyers first; kept if an admin has set any already."""
    if sla.targets():
        return
    for stage, (first_response, resolution) in SLA_TARGETS.items():
        sla.set_target(stage, first_response, resolution)


def _ensure_surveys() -> None:
    """A survey question per stage; kept if an admin has chosen any already."""
    if survey_settings.stage_kinds():
        return
    policy = survey_settings.policy()
    survey_settings.save(SURVEY_KINDS, policy.follow_up, policy.ask_interval_days)


def _ensure_macros() -> None:
    """The shared macros, each made when no shared macro of its name exists yet."""
    existing = {macro.name for macro in service.shared_macros()}
    for name, text, actions in MACROS:
        if name not in existing:
            service.create_macro(None, service.MacroFields(name=name, text=text, **actions))


def _already_loaded(plans: list[Plan], seed: int) -> bool:
    openings = [_external_id(seed, p, 0) for p in plans]
    return (
        db.session.scalar(
            select(Message.id)
            .where(Message.direction == Direction.INBOUND, Message.external_id.in_(openings))
            .limit(1)
        )
        is not None
    )


# --- deliveries -------------------------------------------------------------------------------


def _settle_deliveries(outbound: list[Message], now: datetime) -> None:
    """Mark demo replies as long delivered, so a worker never sends them to made-up people.

    The newest two stay "sent" (the carrier has not confirmed yet) and two recent ones failed,
    so the agent views show every delivery state a real day has.
    """
    ordered = sorted(outbound, key=lambda m: (m.created_at, m.id))
    states = {m.id: DeliveryState.DELIVERED for m in ordered}
    for message in ordered[-2:]:
        states[message.id] = DeliveryState.SENT
    recent = [m for m in ordered[:-2] if now - m.created_at < timedelta(days=3)]
    for channel in (SMS, EMAIL):
        failing = [m for m in recent if m.channel == channel]
        if failing:
            states[failing[-1].id] = DeliveryState.FAILED
    for message in ordered:
        _deliver(message, states[message.id])


FAILURES = {
    SMS: ("30003", "Unreachable destination handset"),
    EMAIL: ("552", "5.2.2 Mailbox full"),
}


def _deliver(message: Message, state: DeliveryState) -> None:
    attempt = DeliveryAttempt(
        message=message,
        worker="demo",
        started_at=message.created_at + timedelta(seconds=2),
        finished_at=message.created_at + timedelta(seconds=3),
    )
    message.attempt_count = 1
    message.next_attempt_at = None
    message.delivery_state = state
    if state == DeliveryState.FAILED:
        attempt.outcome = AttemptOutcome.FAILED
        message.error_code, message.error_text = FAILURES[message.channel]
        attempt.error_code, attempt.error_text = FAILURES[message.channel]
    else:
        attempt.outcome = AttemptOutcome.SENT
        if message.external_id is None:
            # As the worker does: SMS and chat learn their id from the provider.
            message.external_id = (
                f"SM{message.id:032x}" if message.channel == SMS else (f"chat-{message.id}")
            )
        attempt.provider_id = message.external_id
    db.session.add(attempt)
