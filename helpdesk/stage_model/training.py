"""Which tickets teach the model: those whose stage a person set or confirmed.

A ticket counts when its customer chose the stage, an agent (or an API client) set it, or an
agent replied on it and left the stage intake gave it; merged tickets, tickets we started
(proactive), tickets without a customer message and tickets still ``unknown`` do not. Its text
is the subject and first message the customer sent, as intake read them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from helpdesk.extensions import db
from helpdesk.models import (
    Direction,
    Message,
    Stage,
    StagePrediction,
    StageSource,
    Ticket,
    TicketEvent,
)
from helpdesk.stage_model.prediction import request_text

# The newest examples a training reads at most: with TEXT_LIMIT, this bounds the worker's
# memory (under 200 MB of features at worst) and time.
MAX_EXAMPLES = 10_000
_SET_BY_PEOPLE = (StageSource.CUSTOMER, StageSource.AGENT, StageSource.API)


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled request: its text, the stage people gave it, and what the rules and
    defaults said at intake (the baseline)."""

    ticket_id: int
    created_at: datetime
    text: str
    stage: Stage
    baseline: Stage
    # Neither a rule nor the customer's choice decided its stage at intake: where a model helps.
    fell_back: bool


class NotEnoughExamples(Exception):
    """Too few examples to train on; the message says which stages lack how many."""


class HoldoutTooSmall(Exception):
    """The oldest 80 % of the examples hold fewer than two stages."""


def _labelled(*columns: ColumnElement) -> Select:
    """The labelled requests' ``columns``, joined to their first customer message (``Message``)
    and to what a model said of them (``StagePrediction``, outer)."""
    first = (
        select(Message.ticket_id, func.min(Message.id).label("message_id"))
        .where(Message.direction == Direction.INBOUND)
        .group_by(Message.ticket_id)
        .subquery()
    )
    reply = aliased(Message)
    replied = exists().where(
        reply.ticket_id == Ticket.id,
        reply.direction == Direction.OUTBOUND,
        reply.author_id.is_not(None),
    )
    return (
        select(*columns)
        .select_from(Ticket)
        .join(first, first.c.ticket_id == Ticket.id)
        .join(Message, Message.id == first.c.message_id)
        .outerjoin(StagePrediction, StagePrediction.ticket_id == Ticket.id)
        .where(
            Ticket.merged_into_id.is_(None),
            Ticket.proactive.is_(False),
            Ticket.stage != Stage.UNKNOWN,
            or_(
                Ticket.stage_source.in_(_SET_BY_PEOPLE),
                and_(Ticket.stage == Ticket.intake_stage, replied),
            ),
        )
    )


def examples(limit: int = MAX_EXAMPLES) -> list[Example]:
    """The labelled requests, oldest first."""
    rows = db.session.execute(
        _labelled(
            Ticket.id,
            Ticket.created_at,
            Message.subject,
            Message.text,
            Ticket.stage,
            Ticket.stage_source,
            Ticket.intake_stage,
            Ticket.intake_rule,
            StagePrediction.decided,
            StagePrediction.baseline_stage,
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    found = [
        Example(
            ticket_id,
            created_at,
            request_text(subject, text),
            stage,
            baseline_stage if decided else intake_stage,
            intake_rule is None and source != StageSource.CUSTOMER,
        )
        for (
            ticket_id,
            created_at,
            subject,
            text,
            stage,
            source,
            intake_stage,
            intake_rule,
            decided,
            baseline_stage,
        ) in rows
    ]
    found.reverse()
    return found


def stage_counts() -> Counter[Stage]:
    """Labelled requests per stage, counted in the database (cheap enough for a page)."""
    rows = db.session.execute(_labelled(Ticket.stage, func.count()).group_by(Ticket.stage))
    return Counter({Stage(stage): count for stage, count in rows})


def shortfall(counts: Counter[Stage], minimum: int) -> str | None:
    """Why no model can be trained on examples counted so, or None when one can."""
    if sum(1 for stage in Stage if counts[stage] >= minimum) >= 2:
        return None
    return (
        f"a model needs at least {minimum} examples in each of two stages or more "
        f"(HELPDESK_STAGE_MODEL_MIN_PER_STAGE); there are {_counted(counts)}"
    )


def trainable(found: Sequence[Example], minimum: int) -> tuple[list[Example], dict[Stage, int]]:
    """The examples of stages with at least ``minimum`` of them, and the stages left out with
    their counts; refused when fewer than two stages are left."""
    counts = Counter(example.stage for example in found)
    refused = shortfall(counts, minimum)
    if refused:
        raise NotEnoughExamples(refused)
    short = {stage: counts[stage] for stage in Stage if 0 < counts[stage] < minimum}
    return [example for example in found if example.stage not in short], short


def _counted(counts: Counter[Stage]) -> str:
    listed = [f"{stage.value} {counts[stage]}" for stage in Stage if counts[stage]]
    return ", ".join(listed) if listed else "none yet"


def corrections_so_far() -> int:
    """Stage changes people have made on tickets: the worker retrains after enough new ones."""
    return db.session.scalar(
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.kind == "stage", TicketEvent.actor_id.is_not(None))
    )
