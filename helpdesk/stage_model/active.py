"""The promoted model as intake asks it: loaded once per process and kept while it stays the
promoted one, so a message costs a feature hash and a sparse product, not a database read."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import StageModel
from helpdesk.stage_model.prediction import Prediction, request_text

if TYPE_CHECKING:
    from helpdesk.stage_model.classifier import StageClassifier

# Payload hash → classifier: the same stored weights in any database load once.
_loaded: dict[str, StageClassifier] = {}
_loading = threading.Lock()


@dataclass(frozen=True, slots=True)
class ActiveModel:
    """The promoted model and how intake may use it."""

    version: int
    classifier: StageClassifier
    # HELPDESK_STAGE_MODEL=decide: a prediction at or above ``threshold`` sets the stage.
    decides: bool
    threshold: float

    def predict(self, subject: str | None, text: str | None) -> Prediction:
        """The model's stage for a new request."""
        return self.classifier.predict(request_text(subject, text))

    def sure_of(self, prediction: Prediction) -> bool:
        """True when the prediction may set the stage by itself."""
        return self.decides and prediction.confidence >= self.threshold


def active_model() -> ActiveModel | None:
    """The promoted model, unless HELPDESK_STAGE_MODEL is off or none is promoted yet."""
    config = current_app.config
    if config["HELPDESK_STAGE_MODEL"] == "off":
        return None
    found = db.session.execute(
        select(StageModel.id, StageModel.payload_sha256)
        .where(StageModel.promoted)
        .order_by(StageModel.id.desc())
        .limit(1)
    ).first()
    if found is None:
        return None
    version, digest = found
    return ActiveModel(
        version,
        _classifier(version, digest),
        decides=config["HELPDESK_STAGE_MODEL"] == "decide",
        threshold=config["HELPDESK_STAGE_MODEL_THRESHOLD"],
    )


def _classifier(version: int, digest: str) -> StageClassifier:
    with _loading:
        classifier = _loaded.get(digest)
        if classifier is None:
            # Imported here: scikit-learn takes seconds to load, and only a process that has a
            # model to ask needs it.
            from helpdesk.stage_model.classifier import StageClassifier

            payload = db.session.scalar(select(StageModel.payload).where(StageModel.id == version))
            classifier = StageClassifier.from_bytes(payload)
            # One model in use per process: the one it replaces is let go.
            _loaded.clear()
            _loaded[digest] = classifier
        return classifier
