"""Trained models kept in the database: train one now, promote it unless it scores worse than
the one in use, and retrain in the worker when one is due."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Stage, StageModel, utcnow
from helpdesk.stage_model.training import (
    HoldoutTooSmall,
    NotEnoughExamples,
    corrections_so_far,
    examples,
    trainable,
)

if TYPE_CHECKING:
    from helpdesk.stage_model.evaluation import Evaluation


@dataclass(frozen=True, slots=True)
class Trained:
    """A stored model, its hold-out figures, and the stages left out for too few examples."""

    model: StageModel
    evaluation: Evaluation
    left_out: dict[Stage, int]


def promoted_model() -> StageModel | None:
    """The model intake asks, if any."""
    return db.session.scalars(
        select(StageModel).where(StageModel.promoted).order_by(StageModel.id.desc()).limit(1)
    ).first()


def latest_model() -> StageModel | None:
    """The newest model trained, promoted or not."""
    return db.session.scalars(select(StageModel).order_by(StageModel.id.desc()).limit(1)).first()


def train_now(at: datetime | None = None) -> Trained:
    """Measure a new model on a time-ordered hold-out, train it on every example and store it,
    promoted unless it scores worse than the one in use. Raises ``NotEnoughExamples`` or
    ``HoldoutTooSmall`` with the reason when no model can be trained."""
    # Imported here: scikit-learn takes seconds to load, and only training needs all of it.
    from helpdesk.stage_model.classifier import StageClassifier
    from helpdesk.stage_model.evaluation import evaluate

    corrections = corrections_so_far()
    kept, left_out = trainable(examples(), current_app.config["HELPDESK_STAGE_MODEL_MIN_PER_STAGE"])
    evaluation = evaluate(kept)
    payload = StageClassifier.train([e.text for e in kept], [e.stage for e in kept]).to_bytes()
    in_use = promoted_model()
    promote, verdict = _verdict(evaluation, in_use)
    if promote and in_use is not None:
        in_use.promoted = False
    counts = Counter(example.stage for example in kept)
    model = StageModel(
        created_at=at or utcnow(),
        examples=len(kept),
        stage_counts={stage.value: counts[stage] for stage in Stage if counts[stage]},
        holdout_size=evaluation.holdout_size,
        accuracy=evaluation.model.accuracy,
        macro_f1=evaluation.model.macro_f1,
        baseline_accuracy=evaluation.baseline.accuracy,
        baseline_macro_f1=evaluation.baseline.macro_f1,
        per_stage={
            stage.value: {
                "precision": figures.precision,
                "recall": figures.recall,
                "support": figures.support,
            }
            for stage, figures in evaluation.per_stage.items()
        },
        corrections_seen=corrections,
        promoted=promote,
        verdict=verdict,
        payload=payload,
        payload_sha256=hashlib.sha256(payload).hexdigest(),
    )
    db.session.add(model)
    db.session.flush()
    return Trained(model, evaluation, left_out)


def _verdict(evaluation: Evaluation, in_use: StageModel | None) -> tuple[bool, str]:
    if in_use is None:
        return True, "promoted: no model was in use"
    if evaluation.model.macro_f1 < in_use.macro_f1:
        return False, (
            f"not promoted: hold-out macro-F1 {evaluation.model.macro_f1:.3f} is below "
            f"{in_use.macro_f1:.3f} of version {in_use.id}, which stays in use"
        )
    return True, (
        f"promoted: hold-out macro-F1 {evaluation.model.macro_f1:.3f} against "
        f"{in_use.macro_f1:.3f} of version {in_use.id}"
    )


def retraining_due(at: datetime) -> bool:
    """True when no model was trained yet, the newest is older than
    HELPDESK_STAGE_MODEL_RETRAIN_HOURS, or HELPDESK_STAGE_MODEL_RETRAIN_CORRECTIONS stage
    corrections were made since it was trained."""
    latest = latest_model()
    if latest is None:
        return True
    config = current_app.config
    if at - latest.created_at >= timedelta(hours=config["HELPDESK_STAGE_MODEL_RETRAIN_HOURS"]):
        return True
    new = corrections_so_far() - latest.corrections_seen
    return new >= config["HELPDESK_STAGE_MODEL_RETRAIN_CORRECTIONS"]


def retrain_when_due() -> Trained | None:
    """The worker's job: train and commit a model when one is due and there are examples
    enough; the model in use keeps answering intake meanwhile."""
    at = utcnow()
    if current_app.config["HELPDESK_STAGE_MODEL"] == "off" or not retraining_due(at):
        return None
    try:
        trained = train_now(at)
    except (NotEnoughExamples, HoldoutTooSmall):
        # Said by `helpdesk stages train` and the admin page; tried again at the next turn.
        db.session.rollback()
        return None
    db.session.commit()
    return trained
