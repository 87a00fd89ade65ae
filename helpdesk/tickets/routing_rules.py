"""Keeping the routing rules: add, change, order, switch off, remove and try them out.

The admin pages and the CLI (``helpdesk routing``) call these; the engine that applies the
rules is ``helpdesk.tickets.routing``. Functions flush, callers commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Priority, RoutingRule, Stage, Team, Ticket
from helpdesk.tickets.endpoints import endpoint_address
from helpdesk.tickets.errors import InvalidInput, InvalidRule
from helpdesk.tickets.routing import Facts, Routing, decide, ordered_rules, unmet_conditions
from helpdesk.tickets.rule_order import POSITION_STEP, place
from helpdesk.tickets.tags import tag_name

RECENT_DAYS = 30
CONDITION_LABELS = {
    "channel": "channel",
    "endpoint": "arrived at",
    "intake_stage": "intake stage",
    "stage": "stage",
    "tag": "tag",
    "priority": "priority",
    "subject_words": "subject mentions",
}
_ENUMS: dict[str, type[Channel] | type[Stage] | type[Priority]] = {
    "channel": Channel,
    "intake_stage": Stage,
    "stage": Stage,
    "priority": Priority,
}


@dataclass(frozen=True, slots=True)
class RuleUsage:
    """How many tickets a rule has routed: in all, and in the last ``RECENT_DAYS`` days."""

    routed: int = 0
    recent: int = 0


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One rule as routing met it while deciding a sample."""

    rule: RoutingRule
    unmet: tuple[str, ...]  # conditions the sample fails; empty when the rule matched

    @property
    def matched(self) -> bool:
        return self.rule.active and not self.unmet

    @property
    def summary(self) -> str:
        """Why the rule did or did not route the sample, in a few words."""
        if not self.rule.active:
            return "skipped: switched off"
        if not self.unmet:
            return "matched"
        conditions = self.rule.conditions()
        missed = ", ".join(f"{CONDITION_LABELS[name]} {conditions[name]}" for name in self.unmet)
        return f"no match: needs {missed}"


@dataclass(frozen=True, slots=True)
class Trial:
    """Where a sample would be routed, and the rules tried on the way."""

    routing: Routing
    steps: tuple[RuleStep, ...]


# --- changing rules ---------------------------------------------------------------------------


def rule_named(name: str) -> RoutingRule | None:
    """The routing rule called ``name``, if any."""
    return db.session.scalar(select(RoutingRule).where(RoutingRule.name == name.strip()))


def add_rule(
    name: str,
    conditions: Mapping[str, str | None],
    *,
    team: Team | None = None,
    priority: Priority | str | None = None,
    position: int | None = None,
) -> RoutingRule:
    """A new active rule, tried last unless a position is given."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidRule("name", "a rule needs a name")
    limit = RoutingRule.name.type.length
    if len(name) > limit:
        raise InvalidRule("name", f"a rule name has at most {limit} characters")
    if rule_named(name) is not None:
        raise InvalidRule("name", f"a routing rule named {name} already exists")
    if position is None:
        last = db.session.scalar(select(func.max(RoutingRule.position)))
        position = (last or 0) + POSITION_STEP
    rule = RoutingRule(name=name, position=position, active=True)
    _apply(rule, conditions, team, priority)
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(
    rule: RoutingRule,
    conditions: Mapping[str, str | None],
    *,
    team: Team | None = None,
    priority: Priority | str | None = None,
) -> None:
    """Give a rule new conditions and actions; its name stays, tickets remember it by name."""
    _apply(rule, conditions, team, priority)
    db.session.flush()


def set_active(rule: RoutingRule, active: bool) -> None:
    """Switch a rule on or off; a rule switched off keeps its place and its counts."""
    rule.active = active
    db.session.flush()


def move_rule(rule: RoutingRule, offset: int) -> None:
    """Move a rule ``offset`` places earlier (negative) or later in the order."""
    rules = ordered_rules()
    place(rules, rule, rules.index(rule) + offset)
    db.session.flush()


def place_rule(rule: RoutingRule, place_number: int) -> None:
    """Put a rule at ``place_number`` in the order (1 is tried first; past the end is last)."""
    place(ordered_rules(), rule, place_number - 1)
    db.session.flush()


def place_of(rule: RoutingRule) -> int:
    """The rule's place in the order, 1 for the rule tried first."""
    return ordered_rules().index(rule) + 1


def remove_rule(rule: RoutingRule) -> None:
    """Delete a rule; tickets it routed keep their team, priority and its name."""
    db.session.delete(rule)
    db.session.flush()


def _apply(
    rule: RoutingRule,
    conditions: Mapping[str, str | None],
    team: Team | None,
    priority: Priority | str | None,
) -> None:
    cleaned = _clean_conditions(conditions)
    gives = _enum("gives_priority", Priority, priority) if priority else None
    if team is None and gives is None:
        raise InvalidRule("team", "a rule sets a team, a priority or both")
    for name in RoutingRule.CONDITIONS:
        setattr(rule, name, cleaned.get(name))
    rule.team, rule.gives_priority = team, gives


def _clean_conditions(conditions: Mapping[str, str | None]) -> dict[str, object]:
    unknown = set(conditions) - set(RoutingRule.CONDITIONS)
    if unknown:
        raise InvalidRule(sorted(unknown)[0], f"unknown condition {', '.join(sorted(unknown))}")
    cleaned: dict[str, object] = {}
    for name, value in conditions.items():
        value = " ".join((value or "").split())
        if not value:
            continue
        if name in _ENUMS:
            cleaned[name] = _enum(name, _ENUMS[name], value)
            continue
        limit = getattr(RoutingRule, name).type.length
        if len(value) > limit:
            raise InvalidRule(name, f"{CONDITION_LABELS[name]} has at most {limit} characters")
        cleaned[name] = value
    if "tag" in cleaned:
        cleaned["tag"] = _checked("tag", tag_name, cleaned["tag"])
    if "endpoint" in cleaned and "channel" in cleaned:
        # Stored as intake stores addresses, so "+1 555 0100" finds "+15550100".
        cleaned["endpoint"] = _checked(
            "endpoint", endpoint_address, cleaned["channel"], cleaned["endpoint"]
        )
    if "subject_words" in cleaned:
        words = [word.strip() for word in cleaned["subject_words"].split(",") if word.strip()]
        if not words:
            raise InvalidRule("subject_words", "give words or phrases separated by commas")
        cleaned["subject_words"] = ", ".join(words)
    return cleaned


def _checked(field: str, clean: Callable[..., str], *values: object) -> str:
    """``clean(*values)``, its refusal put on ``field``."""
    try:
        return clean(*values)
    except InvalidInput as refused:
        raise InvalidRule(field, str(refused)) from None


def _enum(field: str, enum: type, value: str):
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidRule(field, f"{value!r} is none of {allowed}") from None


# --- how rules fare ---------------------------------------------------------------------------


def rule_usage(now: datetime) -> dict[str, RuleUsage]:
    """Per rule name: the tickets it routed (as they stand now), in all and lately."""
    since = now - timedelta(days=RECENT_DAYS)
    rows = db.session.execute(
        select(
            Ticket.routing_rule,
            func.count(),
            func.sum(case((Ticket.created_at >= since, 1), else_=0)),
        )
        .where(Ticket.routing_rule.is_not(None))
        .group_by(Ticket.routing_rule)
    )
    return {name: RuleUsage(routed, int(recent or 0)) for name, routed, recent in rows}


# --- trying a sample --------------------------------------------------------------------------


def sample_facts(
    channel: Channel | str,
    endpoint: str | None = None,
    *,
    stage: Stage | str = Stage.UNKNOWN,
    intake_stage: Stage | str | None = None,
    tags: str | None = None,
    priority: Priority | str = Priority.NORMAL,
    subject: str | None = None,
) -> Facts:
    """A ticket as routing would see it, built from what a person typed (tags: comma-separated)."""
    channel = _enum("channel", Channel, channel)
    stage = _enum("stage", Stage, stage)
    address = (endpoint or "").strip()
    return Facts(
        channel=channel,
        endpoint=_checked("endpoint", endpoint_address, channel, address) if address else "",
        intake_stage=_enum("intake_stage", Stage, intake_stage) if intake_stage else stage,
        stage=stage,
        tags=frozenset(
            _checked("tag", tag_name, tag) for tag in (tags or "").split(",") if tag.strip()
        ),
        priority=_enum("priority", Priority, priority),
        subject=(subject or "").strip(),
    )


def try_sample(facts: Facts) -> Trial:
    """Where routing would send a ticket like this and why; nothing is stored."""
    rules = ordered_rules()
    routing = decide(facts, rules)
    steps: list[RuleStep] = []
    for rule in rules:
        steps.append(RuleStep(rule, tuple(unmet_conditions(rule, facts))))
        if rule is routing.rule:
            break
    return Trial(routing, tuple(steps))
