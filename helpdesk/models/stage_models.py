"""Learned stage inference: each trained text classifier with its measured figures, and what a
model said about each ticket it was asked about."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import Stage, UtcDateTime, enum_column, utcnow
from helpdesk.models.tickets import Ticket


class StageModel(db.Model):
    """One trained classifier: its id is its version. Figures are from a time-ordered hold-out
    (trained on the oldest 80 % of the examples, tested on the newest 20 %); the stored model
    itself is then trained on every example."""

    __tablename__ = "stage_models"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    examples: Mapped[int]
    # Stage value → training examples, for the stages the model knows.
    stage_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    holdout_size: Mapped[int]
    accuracy: Mapped[float] = mapped_column(Float)
    macro_f1: Mapped[float] = mapped_column(Float)
    baseline_accuracy: Mapped[float] = mapped_column(Float)
    baseline_macro_f1: Mapped[float] = mapped_column(Float)
    # Stage value → {"precision", "recall", "support"} of the model on the hold-out.
    per_stage: Mapped[dict[str, dict[str, float]]] = mapped_column(JSON)
    # Agent stage corrections recorded when it was trained: the worker retrains after N more.
    corrections_seen: Mapped[int]
    promoted: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Why it was (not) promoted, in words.
    verdict: Mapped[str] = mapped_column(String(300))
    # The pickled scikit-learn pipeline; written and read only by helpdesk.stage_model.
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    payload_sha256: Mapped[str] = mapped_column(String(64))


class StagePrediction(db.Model):
    """What a model said about a new ticket at intake: the stage, how sure, and whether that
    decided the stage or was only offered to the agent."""

    __tablename__ = "stage_predictions"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True
    )
    model_id: Mapped[int] = mapped_column(ForeignKey("stage_models.id"), index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    confidence: Mapped[float] = mapped_column(Float)
    decided: Mapped[bool] = mapped_column(default=False, server_default=false())
    # What the endpoint default (or `unknown`) would have given: the baseline evaluation
    # compares against when the model decided.
    baseline_stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship()
    model: Mapped[StageModel] = relationship()
