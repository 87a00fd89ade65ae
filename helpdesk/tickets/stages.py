"""The one journey-stage inference engine.

Order: the customer's explicit choice, then the ordered rules (first match wins), then the
learned model when it may decide and is sure enough (helpdesk/stage_model), then the endpoint's
default stage, then ``unknown``. Where the model does not decide, what it said is kept as a
suggestion for the agent. Channel options such as ``--alias`` or ``--keyword`` create rules
here; no channel decides a stage on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from urllib.parse import urlsplit

from sqlalchemy import select

from channels.base import InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage, StageRule, StageSource
from helpdesk.stage_model.active import ActiveModel
from helpdesk.stage_model.prediction import Prediction


@dataclass(frozen=True, slots=True)
class ModelSaid:
    """What the learned model said of a request, whether that decided its stage, and what the
    endpoint default (or ``unknown``) would have given instead."""

    version: int
    prediction: Prediction
    decided: bool
    baseline: Stage


@dataclass(frozen=True, slots=True)
class StageDecision:
    stage: Stage
    source: StageSource
    reason: str
    rule: str | None = None
    model_said: ModelSaid | None = None


_WORD = re.compile(r"[\w'-]+", re.UNICODE)


def first_word(text: str) -> str | None:
    """The first word of a message, upper-cased, as SMS keywords are compared."""
    match = _WORD.search(text or "")
    return match.group(0).upper() if match else None


def _same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.strip().lower() == b.strip().lower()


def _url_matches(pattern: str, url: str | None) -> bool:
    if not url:
        return False
    target = url if "://" in pattern else (urlsplit(url).path or "/")
    return fnmatchcase(target.lower(), pattern.lower())


def _mentions(keyword: str, msg: InboundMessage) -> bool:
    haystack = f"{msg.subject or ''}\n{msg.text or ''}"
    return re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", haystack, re.IGNORECASE) is not None


def _page(msg: InboundMessage) -> str:
    return urlsplit(msg.page_url).path or "/" if msg.page_url else ""


# condition name -> (does it match?, how to say why)
_CONDITIONS: dict[
    str,
    tuple[
        Callable[[str, InboundMessage, Endpoint], bool],
        Callable[[str, InboundMessage, Endpoint], str],
    ],
] = {
    "channel": (lambda v, m, e: _same(v, m.channel), lambda v, m, e: f"came by {v}"),
    "endpoint": (lambda v, m, e: _same(v, e.address), lambda v, m, e: f"arrived at {e.address}"),
    "recipient": (lambda v, m, e: _same(v, m.recipient), lambda v, m, e: f"sent to {m.recipient}"),
    "first_word": (
        lambda v, m, e: _same(v, first_word(m.text)),
        lambda v, m, e: f"first word {v.upper()}",
    ),
    "url_pattern": (
        lambda v, m, e: _url_matches(v, m.page_url),
        lambda v, m, e: f"chat opened on {_page(m)}",
    ),
    "utm_source": (lambda v, m, e: _same(v, m.utm.source), lambda v, m, e: f"utm_source={v}"),
    "utm_medium": (lambda v, m, e: _same(v, m.utm.medium), lambda v, m, e: f"utm_medium={v}"),
    "utm_campaign": (
        lambda v, m, e: _same(v, m.utm.campaign),
        lambda v, m, e: f"utm_campaign={v}",
    ),
    "keyword": (lambda v, m, e: _mentions(v, m), lambda v, m, e: f"mentions “{v}”"),
}


def rule_matches(rule: StageRule, msg: InboundMessage, endpoint: Endpoint) -> bool:
    """True when every condition the rule sets holds for this message."""
    return all(
        _CONDITIONS[name][0](value, msg, endpoint) for name, value in rule.conditions().items()
    )


def unmet_conditions(rule: StageRule, msg: InboundMessage, endpoint: Endpoint) -> list[str]:
    """The names of the rule's conditions this message fails; empty when the rule matches."""
    return [
        name
        for name, value in rule.conditions().items()
        if not _CONDITIONS[name][0](value, msg, endpoint)
    ]


def _rule_reason(rule: StageRule, msg: InboundMessage, endpoint: Endpoint) -> str:
    conditions = rule.conditions()
    if len(conditions) > 1:
        # "came by chat" adds nothing to "chat opened on /pricing".
        conditions.pop("channel", None)
    parts = [_CONDITIONS[name][1](value, msg, endpoint) for name, value in conditions.items()]
    return ", ".join(parts) if parts else f"rule “{rule.name}” matches every request"


def decide(
    msg: InboundMessage,
    endpoint: Endpoint,
    rules: Iterable[StageRule],
    model: ActiveModel | None = None,
) -> StageDecision:
    """The stage of a new request and why."""
    if msg.chosen_stage and msg.chosen_stage in Stage.__members__.values():
        stage = Stage(msg.chosen_stage)
        return StageDecision(stage, StageSource.CUSTOMER, f"customer chose {stage.value}")
    for rule in rules:
        if rule.enabled and rule_matches(rule, msg, endpoint):
            return StageDecision(
                rule.stage, StageSource.RULE, _rule_reason(rule, msg, endpoint), rule.name
            )
    fallback = _fallback(endpoint)
    if model is None:
        return fallback
    prediction = model.predict(msg.subject, msg.text)
    if model.sure_of(prediction):
        said = ModelSaid(model.version, prediction, decided=True, baseline=fallback.stage)
        return StageDecision(prediction.stage, StageSource.MODEL, prediction.reason(), None, said)
    said = ModelSaid(model.version, prediction, decided=False, baseline=fallback.stage)
    return replace(fallback, model_said=said)


def _fallback(endpoint: Endpoint) -> StageDecision:
    if endpoint.default_stage:
        return StageDecision(
            endpoint.default_stage,
            StageSource.ENDPOINT_DEFAULT,
            f"default stage of {endpoint.label}",
        )
    return StageDecision(Stage.UNKNOWN, StageSource.NONE, "no rule matched")


def ordered_rules() -> list[StageRule]:
    """Every rule in the order the engine tries them."""
    return list(db.session.scalars(select(StageRule).order_by(StageRule.position, StageRule.id)))
