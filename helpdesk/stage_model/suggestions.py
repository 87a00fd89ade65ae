"""What the model said of each ticket at intake: recorded with the model's version, offered to
the agent as a one-click suggestion where it did not decide, and counted for the admin page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import StageModel, StagePrediction, StageSource, Ticket, User
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.properties import set_stage
from helpdesk.tickets.stages import ModelSaid

# Sources that mean a person chose the stage: a suggestion no longer applies.
_CHOSEN_BY_PEOPLE = (StageSource.CUSTOMER, StageSource.AGENT, StageSource.API)


def record_prediction(ticket: Ticket, said: ModelSaid, at: datetime) -> StagePrediction:
    """Keep which model version said what of a new ticket."""
    prediction = StagePrediction(
        ticket=ticket,
        model_id=said.version,
        stage=said.prediction.stage,
        confidence=said.prediction.confidence,
        decided=said.decided,
        baseline_stage=said.baseline,
        created_at=at,
    )
    db.session.add(prediction)
    return prediction


def open_suggestion(ticket: Ticket) -> StagePrediction | None:
    """The model's suggestion for the agent: what it said, when it did not decide, differs from
    the stage and no person has chosen the stage since."""
    prediction = db.session.get(StagePrediction, ticket.id)
    if (
        prediction is None
        or prediction.decided
        or prediction.stage == ticket.stage
        or ticket.stage_source in _CHOSEN_BY_PEOPLE
        or ticket.merged_into_id is not None
    ):
        return None
    return prediction


def accept_suggestion(ticket: Ticket, actor: User) -> StagePrediction:
    """Set the suggested stage as the agent's own correction."""
    prediction = open_suggestion(ticket)
    if prediction is None:
        raise TicketError("there is no stage suggestion to accept on this ticket")
    percent = round(prediction.confidence * 100)
    set_stage(
        ticket,
        actor,
        prediction.stage,
        reason=(
            f"{actor.name} accepted the suggestion of stage model version "
            f"{prediction.model_id} ({percent} %)"
        ),
    )
    return prediction


@dataclass(frozen=True, slots=True)
class ModelUse:
    """How a model fared on live tickets: those it decided and how many of those now have another
    stage (corrected), those it only suggested for and how many now have the suggested stage."""

    decided: int
    corrected: int
    suggested: int
    agreed: int


def model_use(model: StageModel) -> ModelUse:
    """Live figures for one model version."""
    rows = db.session.execute(
        select(
            StagePrediction.decided,
            StagePrediction.stage == Ticket.stage,
            func.count(),
        )
        .join(Ticket, Ticket.id == StagePrediction.ticket_id)
        .where(StagePrediction.model_id == model.id, Ticket.merged_into_id.is_(None))
        .group_by(StagePrediction.decided, StagePrediction.stage == Ticket.stage)
    )
    counts = {(bool(decided), bool(same)): n for decided, same, n in rows}
    return ModelUse(
        decided=counts.get((True, True), 0) + counts.get((True, False), 0),
        corrected=counts.get((True, False), 0),
        suggested=counts.get((False, True), 0) + counts.get((False, False), 0),
        agreed=counts.get((False, True), 0),
    )
