"""Keeping the stage rules: add, change, order, switch off and try them out.

The CLI (``helpdesk stages``) and the admin pages both call these functions; the engine that
applies the rules at intake is ``helpdesk.tickets.stages``. Functions flush, callers commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import case, func, or_, select

from channels.base import Channel, InboundMessage, Utm
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage, StageRule, StageSource, Ticket, TicketEvent
from helpdesk.tickets.endpoints import endpoint_address, find_endpoint
from helpdesk.tickets.errors import InvalidInput, InvalidRule
from helpdesk.tickets.rule_order import POSITION_STEP, place
from helpdesk.tickets.stages import (
    StageDecision,
    decide,
    first_word,
    ordered_rules,
    unmet_conditions,
)

# A rule tags requests with a real stage; "unknown" is what no rule matching means.
RULE_STAGES = tuple(stage for stage in Stage if stage != Stage.UNKNOWN)
CONDITION_LABELS = {
    "channel": "channel",
    "endpoint": "arrived at",
    "recipient": "sent to",
    "first_word": "first word",
    "url_pattern": "page URL",
    "utm_source": "utm_source",
    "utm_medium": "utm_medium",
    "utm_campaign": "utm_campaign",
    "keyword": "mentions",
}


@dataclass(frozen=True, slots=True)
class RuleUsage:
    """How many tickets a rule decided at intake, and how many of those were corrected later."""

    decided: int = 0
    corrected: int = 0


@dataclass(frozen=True, slots=True)
class RuleStep:
    """One rule as the engine met it while deciding a sample."""

    rule: StageRule
    unmet: tuple[str, ...]  # conditions the sample fails; empty when the rule matched

    @property
    def matched(self) -> bool:
        return self.rule.enabled and not self.unmet

    @property
    def summary(self) -> str:
        """Why the rule did or did not decide, in a few words."""
        if not self.rule.enabled:
            return "skipped: disabled"
        if not self.unmet:
            return "matched"
        conditions = self.rule.conditions()
        missed = ", ".join(f"{CONDITION_LABELS[name]} {conditions[name]}" for name in self.unmet)
        return f"no match: needs {missed}"


@dataclass(frozen=True, slots=True)
class Trial:
    """What a sample request would get, and the rules tried on the way."""

    decision: StageDecision
    steps: tuple[RuleStep, ...]
    endpoint: Endpoint


# --- changing rules ---------------------------------------------------------------------------


def rule_named(name: str) -> StageRule | None:
    """The rule called ``name``, if any."""
    return db.session.scalar(select(StageRule).where(StageRule.name == name))


def add_rule(
    name: str,
    stage: Stage | str,
    conditions: Mapping[str, str | None],
    *,
    position: int | None = None,
    enabled: bool = True,
) -> StageRule:
    """A new rule, last in the order unless a position is given."""
    name = (name or "").strip()
    if not name:
        raise InvalidRule("name", "a rule needs a name")
    if len(name) > StageRule.name.type.length:
        raise InvalidRule(
            "name", f"a rule name has at most {StageRule.name.type.length} characters"
        )
    if rule_named(name) is not None:
        raise InvalidRule("name", f"a rule named {name} already exists")
    if position is None:
        position = (db.session.scalar(select(func.max(StageRule.position))) or 0) + POSITION_STEP
    rule = StageRule(name=name, position=position, enabled=enabled)
    _apply(rule, stage, conditions)
    db.session.add(rule)
    db.session.flush()
    return rule


def put_rule(name: str, stage: Stage | str, conditions: Mapping[str, str | None]) -> StageRule:
    """The rule a channel option stands for (an alias, a keyword, a URL rule): added last the
    first time, given the new stage and conditions on later calls."""
    rule = rule_named(name)
    if rule is None:
        return add_rule(name, stage, conditions)
    update_rule(rule, stage, conditions)
    return rule


def update_rule(rule: StageRule, stage: Stage | str, conditions: Mapping[str, str | None]) -> None:
    """Give a rule a new stage and conditions; its name stays, tickets remember it by name."""
    _apply(rule, stage, conditions)
    db.session.flush()


def set_enabled(rule: StageRule, enabled: bool) -> None:
    """Switch a rule on or off; a disabled rule keeps its place and its history."""
    rule.enabled = enabled
    db.session.flush()


def move_rule(rule: StageRule, offset: int) -> None:
    """Move a rule ``offset`` places earlier (negative) or later in the order."""
    rules = ordered_rules()
    place(rules, rule, rules.index(rule) + offset)
    db.session.flush()


def place_rule(rule: StageRule, place_number: int) -> None:
    """Put a rule at ``place_number`` in the order (1 is tried first; past the end is last)."""
    place(ordered_rules(), rule, place_number - 1)
    db.session.flush()


def place_of(rule: StageRule) -> int:
    """The rule's place in the order, 1 for the rule tried first."""
    return ordered_rules().index(rule) + 1


def remove_rule(rule: StageRule) -> None:
    """Delete a rule; tickets it decided keep their stage and intake rule name."""
    db.session.delete(rule)
    db.session.flush()


def _apply(rule: StageRule, stage: Stage | str, conditions: Mapping[str, str | None]) -> None:
    rule.stage = _rule_stage(stage)
    cleaned = _clean_conditions(conditions)
    for name in StageRule.CONDITIONS:
        setattr(rule, name, cleaned.get(name))


def _rule_stage(stage: Stage | str) -> Stage:
    try:
        parsed = Stage(stage)
    except ValueError:
        parsed = None
    if parsed not in RULE_STAGES:
        allowed = ", ".join(s.value for s in RULE_STAGES)
        raise InvalidRule("stage", f"a rule's stage is one of {allowed}, not {stage!r}")
    return parsed


def _clean_conditions(conditions: Mapping[str, str | None]) -> dict[str, str | Channel]:
    unknown = set(conditions) - set(StageRule.CONDITIONS)
    if unknown:
        raise InvalidRule(
            sorted(unknown)[0], f"unknown rule condition {', '.join(sorted(unknown))}"
        )
    cleaned: dict[str, str | Channel] = {}
    for name, value in conditions.items():
        value = (value or "").strip()
        if not value:
            continue
        limit = getattr(StageRule, name).type.length
        if len(value) > limit:
            raise InvalidRule(name, f"{CONDITION_LABELS[name]} has at most {limit} characters")
        cleaned[name] = value
    if "channel" in cleaned:
        try:
            cleaned["channel"] = Channel(cleaned["channel"])
        except ValueError:
            allowed = ", ".join(c.value for c in Channel)
            raise InvalidRule("channel", f"channel is one of {allowed}") from None
    word = cleaned.get("first_word")
    # The engine compares the message's first word, so a phrase here could never match.
    if word is not None and first_word(word) != word.upper():
        raise InvalidRule("first_word", f"first word must be a single word, not {word!r}")
    return cleaned


# --- endpoint defaults ------------------------------------------------------------------------


def endpoints() -> list[Endpoint]:
    """Every registered endpoint (each is registered when its first message arrives)."""
    return list(db.session.scalars(select(Endpoint).order_by(Endpoint.channel, Endpoint.address)))


def set_endpoint_default(endpoint: Endpoint, stage: Stage | str) -> None:
    """The stage an endpoint's requests get when no rule matches; ``unknown`` clears it."""
    try:
        parsed = Stage(stage)
    except ValueError:
        raise InvalidRule("stage", f"unknown stage {stage!r}") from None
    endpoint.default_stage = None if parsed == Stage.UNKNOWN else parsed
    db.session.flush()


# --- how rules fare ---------------------------------------------------------------------------


def rule_usage() -> dict[str, RuleUsage]:
    """Per rule name: tickets it decided at intake, and how many an agent corrected since."""
    restaged = (
        select(TicketEvent.id)
        .where(
            TicketEvent.ticket_id == Ticket.id,
            TicketEvent.kind == "stage",
            TicketEvent.merged_from_id.is_(None),
        )
        .exists()
    )
    corrected = or_(Ticket.stage != Ticket.intake_stage, restaged)
    rows = db.session.execute(
        select(Ticket.intake_rule, func.count(), func.sum(case((corrected, 1), else_=0)))
        .where(Ticket.intake_rule.is_not(None))
        .group_by(Ticket.intake_rule)
    )
    return {name: RuleUsage(decided, int(fixed or 0)) for name, decided, fixed in rows}


# --- trying a sample --------------------------------------------------------------------------


def sample_message(
    channel: Channel | str,
    endpoint: str,
    *,
    recipient: str | None = None,
    subject: str | None = None,
    text: str | None = None,
    page_url: str | None = None,
    utm_source: str | None = None,
    utm_medium: str | None = None,
    utm_campaign: str | None = None,
    choice: str | None = None,
) -> InboundMessage:
    """A request as a channel would hand it over, built from what a person typed."""
    try:
        channel = Channel(channel)
    except ValueError:
        raise InvalidInput(f"channel is one of {', '.join(c.value for c in Channel)}") from None
    if not (endpoint or "").strip():
        raise InvalidInput("say which endpoint the sample arrives at")
    return InboundMessage(
        channel=channel,
        endpoint=endpoint.strip(),
        external_id="stage-trial",
        sender="sample",
        text=text or "",
        subject=subject or None,
        recipient=recipient or endpoint.strip(),
        page_url=page_url or None,
        utm=Utm(utm_source or None, utm_medium or None, utm_campaign or None),
        chosen_stage=choice or None,
    )


def try_sample(msg: InboundMessage) -> Trial:
    """What the engine would decide for ``msg`` and why; nothing is stored."""
    address = endpoint_address(msg.channel, msg.endpoint)
    # An endpoint nobody has written to yet has no default stage; it is not registered here.
    endpoint = find_endpoint(msg.channel, address) or Endpoint(channel=msg.channel, address=address)
    rules = ordered_rules()
    decision = decide(msg, endpoint, rules)
    steps: list[RuleStep] = []
    if decision.source != StageSource.CUSTOMER:
        for rule in rules:
            steps.append(RuleStep(rule, tuple(unmet_conditions(rule, msg, endpoint))))
            if rule.name == decision.rule:
                break
    return Trial(decision, tuple(steps), endpoint)
