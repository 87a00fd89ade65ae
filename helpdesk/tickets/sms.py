"""SMS in the ticket service: registered numbers and their keyword rules, where a text
arrived, and Twilio's delivery statuses. The CLI and the admin screens call these.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from channels.base import Channel, InboundMessage
from channels.sms import StatusUpdate
from helpdesk.extensions import db
from helpdesk.models import DeliveryState, Direction, Endpoint, Message, Stage, StageRule, Ticket
from helpdesk.outbox import advance
from helpdesk.tickets import endpoints, stage_rules
from helpdesk.tickets.customers import normalize_phone
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.stages import first_word

MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")


@dataclass(frozen=True, slots=True)
class SmsNumber:
    """A number or Messaging Service as the admin screens list it."""

    address: str
    kind: str  # "number" or "messaging service"
    name: str | None
    default_stage: Stage | None
    keywords: tuple[tuple[str, Stage], ...]  # (first word, stage), in rule order
    registered: bool  # added by an admin; False for one only seen in traffic
    tickets: int


def sms_address(number: str | None = None, messaging_service: str | None = None) -> str:
    """The endpoint address of a number (E.164) or a Messaging Service SID; exactly one."""
    if bool(number) == bool(messaging_service):
        raise InvalidInput("give either a phone number or a Messaging Service SID")
    if number:
        return normalize_phone(number)
    sid = messaging_service.strip()
    if not MESSAGING_SERVICE.fullmatch(sid):
        raise InvalidInput(f"not a Messaging Service SID (MG and 32 hex digits): {sid!r}")
    return sid


def add_number(
    *,
    number: str | None = None,
    messaging_service: str | None = None,
    stage: Stage | str | None = None,
    keywords: Mapping[str, Stage | str] | None = None,
    name: str | None = None,
) -> Endpoint:
    """Register (or update) a number or Messaging Service with its stage and keyword rules."""
    address = sms_address(number, messaging_service)
    default_stage = _stage(stage) if stage else None
    rules = {_keyword(word): _stage(value) for word, value in (keywords or {}).items()}
    endpoint = endpoints.endpoint_for(Channel.SMS, address)
    endpoint.settings = {**(endpoint.settings or {}), "registered": True}
    if name:
        endpoint.name = name.strip()[:120]
    if stage:
        endpoint.default_stage = default_stage
    for word, rule_stage in rules.items():
        _set_keyword_rule(address, word, rule_stage)
    db.session.flush()
    return endpoint


def list_numbers() -> list[SmsNumber]:
    """Every SMS endpoint, registered ones first, with its keyword rules and ticket count."""
    endpoints = db.session.scalars(
        select(Endpoint).where(Endpoint.channel == Channel.SMS).order_by(Endpoint.address)
    ).all()
    counts = dict(
        db.session.execute(
            select(Ticket.endpoint_id, func.count())
            .where(Ticket.channel == Channel.SMS)
            .group_by(Ticket.endpoint_id)
        ).all()
    )
    numbers = [
        SmsNumber(
            address=endpoint.address,
            kind="messaging service" if endpoint.address.startswith("MG") else "number",
            name=endpoint.name,
            default_stage=endpoint.default_stage,
            keywords=tuple((rule.first_word, rule.stage) for rule in _keyword_rules(endpoint)),
            registered=bool((endpoint.settings or {}).get("registered")),
            tickets=counts.get(endpoint.id, 0),
        )
        for endpoint in endpoints
    ]
    return sorted(numbers, key=lambda number: not number.registered)


def remove_number(address: str) -> None:
    """Unregister a number: its keyword rules and default stage go; its tickets stay."""
    endpoint = _registered(address)
    # One by one through the session, not a bulk DELETE: the audit trail sees each rule go.
    for rule in _keyword_rules(endpoint):
        db.session.delete(rule)
    has_messages = db.session.scalar(
        select(Message.id).where(Message.endpoint_id == endpoint.id).limit(1)
    )
    if has_messages is None:
        db.session.delete(endpoint)
    else:
        # Tickets point at it; texts that still arrive are taken as from an unknown number.
        endpoint.default_stage = None
        endpoint.settings = {**(endpoint.settings or {}), "registered": False}
    db.session.flush()


def _registered(address: str) -> Endpoint:
    address = address.strip()
    if not address.startswith("MG"):
        address = normalize_phone(address)
    endpoint = db.session.scalar(
        select(Endpoint).where(Endpoint.channel == Channel.SMS, Endpoint.address == address)
    )
    if endpoint is None or not (endpoint.settings or {}).get("registered"):
        raise TicketError(f"{address} is not a registered SMS number or Messaging Service")
    return endpoint


def _stage(value: Stage | str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        allowed = ", ".join(stage.value for stage in Stage if stage != Stage.UNKNOWN)
        raise InvalidInput(f"unknown stage {value!r}; use one of {allowed}") from None


def _keyword(word: str) -> str:
    # Compared as the stage engine compares it: the text's first word, upper-cased.
    if not word or first_word(word) != word.strip().upper():
        raise InvalidInput(f"a keyword is one word, like ORDER: {word!r}")
    return word.strip().upper()


def _rule_name(address: str, word: str) -> str:
    return f"sms {address} {word}"


def _keyword_rules(endpoint: Endpoint) -> list[StageRule]:
    return list(
        db.session.scalars(
            select(StageRule)
            .where(
                StageRule.channel == Channel.SMS,
                StageRule.endpoint == endpoint.address,
                StageRule.first_word.is_not(None),
            )
            .order_by(StageRule.position, StageRule.id)
        )
    )


def _set_keyword_rule(address: str, word: str, stage: Stage) -> None:
    conditions = {"channel": Channel.SMS.value, "endpoint": address, "first_word": word}
    stage_rules.put_rule(_rule_name(address, word), stage, conditions)


# --- intake and delivery ----------------------------------------------------------------------


def inbound(msg: InboundMessage) -> InboundMessage:
    """An inbound text as the ticket service takes it: from E.164, at its endpoint."""
    # Replies go to the stored sender, so it is kept in E.164 like the customer's identity.
    msg = replace(msg, sender=normalize_phone(msg.sender))
    return _at_registered_endpoint(msg)


def _at_registered_endpoint(msg: InboundMessage) -> InboundMessage:
    """A pool number registered on its own is its own endpoint; else its Messaging Service."""
    if msg.endpoint == msg.recipient or not msg.recipient:
        return msg
    try:
        number = normalize_phone(msg.recipient)
    except InvalidInput:
        return msg
    registered = db.session.scalar(
        select(Endpoint.settings).where(Endpoint.channel == Channel.SMS, Endpoint.address == number)
    )
    return replace(msg, endpoint=number) if (registered or {}).get("registered") else msg


def apply_status(update: StatusUpdate, reference: str | None = None) -> Message | None:
    """Record what Twilio says about a text we sent; None when no message of ours matches."""
    message = _sent_message(update.provider_id, reference)
    if message is None:
        return None
    if message.external_id is None:
        # The callback beat the worker's own record of the provider id.
        message.external_id = update.provider_id
    if update.delivery:
        advance(message, DeliveryState(update.delivery), update.error_code, update.error_text)
    db.session.flush()
    return message


def _sent_message(provider_id: str, reference: str | None) -> Message | None:
    if reference and reference.isdigit():
        message = db.session.get(Message, int(reference))
        if (
            message is not None
            and message.channel == Channel.SMS
            and message.direction == Direction.OUTBOUND
            # A second send of the same message (see DESIGN.md) may not overwrite the first.
            and message.external_id in (None, provider_id)
        ):
            return message
        return None
    return db.session.scalar(
        select(Message).where(
            Message.channel == Channel.SMS,
            Message.direction == Direction.OUTBOUND,
            Message.external_id == provider_id,
        )
    )
