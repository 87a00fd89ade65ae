"""The shapes of the stage corrections report in the API."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from channels.base import Channel
from helpdesk.models import Stage


class CorrectionFigures(BaseModel):
    """Tickets, how many ended on another stage than intake gave them, and stage changes."""

    tickets: int
    corrected: int = Field(description="Tickets whose stage at the end of the range differs.")
    correction_rate: float | None = Field(description="corrected / tickets")
    corrections: int = Field(
        description="Stage changes up to the end of the range, those set back included."
    )


class CorrectionPair(BaseModel):
    """Tickets that arrived with one stage and ended the range with another (or the same)."""

    intake_stage: Stage
    final_stage: Stage
    tickets: int
    corrections: int


class IntakeStageCorrections(CorrectionFigures):
    """The tickets intake gave one stage."""

    intake_stage: Stage


class MostCommonCorrection(BaseModel):
    """The stage a rule's corrected tickets most often ended on."""

    final_stage: Stage
    tickets: int


class RuleCorrections(CorrectionFigures):
    """The tickets one stage rule decided at intake."""

    rule: str | None = Field(description="null: no rule decided (choice, default or none).")
    most_common_correction: MostCommonCorrection | None


class ChannelCorrections(CorrectionFigures):
    """The tickets of one channel."""

    channel: Channel


class StageCorrections(BaseModel):
    """Tickets created from `from` to `to` (inclusive local dates in `timezone`), each from its
    intake stage to its stage at the end of the range."""

    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)

    from_: date = Field(alias="from")
    to: date
    timezone: str
    total: CorrectionFigures
    matrix: list[CorrectionPair] = Field(description="Only the pairs that occur.")
    intake_stages: list[IntakeStageCorrections] = Field(description="Every stage, zeros included.")
    rules: list[RuleCorrections] = Field(description="By rule name; no rule last.")
    channels: list[ChannelCorrections] = Field(description="Every channel, zeros included.")
