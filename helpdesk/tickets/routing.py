"""Routing: the team and priority a new request gets, and why.

Ordered rules, the first active one whose conditions all hold wins, as with the stage rules.
Routing runs when intake opens a ticket and again when its stage is corrected. Each run decides
as though the ticket arrived just now: what the matching rule does not set (everything, when no
rule matches) is no team and normal priority. A team or priority a person has set stays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Priority, RoutingRule, Stage, Team, Ticket
from helpdesk.tickets.events import SUBJECT_LENGTH
from helpdesk.tickets.properties import _change_priority, _change_team


@dataclass(frozen=True, slots=True)
class Facts:
    """What routing looks at: a ticket's, or a sample's from the "try it" box."""

    channel: Channel
    endpoint: str
    intake_stage: Stage
    stage: Stage
    tags: frozenset[str]
    priority: Priority
    subject: str


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a ticket goes and why; no rule means no team and normal priority."""

    rule: RoutingRule | None = None
    team: Team | None = None
    priority: Priority = Priority.NORMAL
    reason: str | None = None


def facts_of(ticket: Ticket) -> Facts:
    """The ticket as routing sees it."""
    # Only a priority a person gave counts: routing's own earlier choice must not decide itself.
    priority = ticket.priority if ticket.priority_set_by_hand else Priority.NORMAL
    return Facts(
        channel=ticket.channel,
        endpoint=ticket.endpoint.address,
        intake_stage=ticket.intake_stage,
        stage=ticket.stage,
        tags=frozenset(tag.name for tag in ticket.tags),
        priority=priority,
        subject=ticket.subject or "",
    )


def subject_words(rule: RoutingRule) -> list[str]:
    """The words or phrases a rule looks for in the subject (any one will do)."""
    return [word.strip() for word in (rule.subject_words or "").split(",") if word.strip()]


def _mentioned(rule: RoutingRule, subject: str) -> str | None:
    for word in subject_words(rule):
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", subject, re.IGNORECASE):
            return word
    return None


# condition name -> (does it hold?, how to say it)
_CONDITIONS: dict[
    str, tuple[Callable[[RoutingRule, Facts], bool], Callable[[RoutingRule, Facts], str]]
] = {
    "channel": (lambda r, f: r.channel == f.channel, lambda r, f: f"channel {r.channel}"),
    "endpoint": (
        lambda r, f: r.endpoint.lower() == f.endpoint.lower(),
        lambda r, f: f"arrived at {r.endpoint}",
    ),
    "intake_stage": (
        lambda r, f: r.intake_stage == f.intake_stage,
        lambda r, f: f"intake stage {r.intake_stage}",
    ),
    "stage": (lambda r, f: r.stage == f.stage, lambda r, f: f"stage {r.stage}"),
    "tag": (lambda r, f: r.tag in f.tags, lambda r, f: f"tag {r.tag}"),
    "priority": (lambda r, f: r.priority == f.priority, lambda r, f: f"priority {r.priority}"),
    "subject_words": (
        lambda r, f: _mentioned(r, f.subject) is not None,
        lambda r, f: f"subject mentions “{_mentioned(r, f.subject)}”",
    ),
}


def unmet_conditions(rule: RoutingRule, facts: Facts) -> list[str]:
    """The names of the rule's conditions these facts fail; empty when the rule matches."""
    return [name for name in rule.conditions() if not _CONDITIONS[name][0](rule, facts)]


def outcome(rule: RoutingRule) -> str:
    """What a rule sets, in a few words: "Billing, high"."""
    parts = [rule.team.name] if rule.team else []
    if rule.gives_priority:
        parts.append(rule.gives_priority.value)
    return ", ".join(parts)


def _reason(rule: RoutingRule, facts: Facts) -> str:
    said = [_CONDITIONS[name][1](rule, facts) for name in rule.conditions()]
    return f"{' and '.join(said) or 'every request'} → {outcome(rule)}"[:SUBJECT_LENGTH]


def decide(facts: Facts, rules: Iterable[RoutingRule]) -> Routing:
    """Where a ticket with these facts goes, by the first active rule that matches."""
    for rule in rules:
        if rule.active and not unmet_conditions(rule, facts):
            return Routing(
                rule, rule.team, rule.gives_priority or Priority.NORMAL, _reason(rule, facts)
            )
    return Routing()


def ordered_rules() -> list[RoutingRule]:
    """Every routing rule in the order they are tried, with their teams."""
    return list(
        db.session.scalars(
            select(RoutingRule)
            .options(selectinload(RoutingRule.team))
            .order_by(RoutingRule.position, RoutingRule.id)
        )
    )


def route(ticket: Ticket, at: datetime, rules: Iterable[RoutingRule] | None = None) -> Routing:
    """Give the ticket the team and priority its first matching rule says, where no person has
    set them by hand, and note the rule and why. Does not flush: its caller does."""
    if ticket.team_set_by_hand and ticket.priority_set_by_hand:
        return Routing()
    routing = decide(facts_of(ticket), ordered_rules() if rules is None else rules)
    # No actor: routing's changes are the system's, so a later re-run may change them again.
    if not ticket.team_set_by_hand:
        _change_team(ticket, None, routing.team, at)
    if not ticket.priority_set_by_hand:
        _change_priority(ticket, None, routing.priority, at)
    ticket.routing_rule = routing.rule.name if routing.rule else None
    ticket.routing_reason = routing.reason
    return routing
