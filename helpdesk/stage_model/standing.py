"""Where the stage model stands, as the admin stage page shows it: the model in use and its
figures, the newest retrain if it was not promoted, how the model fared on live tickets, or
why there is no model yet."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from helpdesk.models import StageModel
from helpdesk.stage_model import store, training
from helpdesk.stage_model.suggestions import ModelUse, model_use


@dataclass(frozen=True, slots=True)
class Standing:
    mode: str
    threshold: float
    in_use: StageModel | None
    # The newest model when it is not the one in use (a retrain that scored worse).
    passed_over: StageModel | None
    use: ModelUse | None
    # Why no model is in use yet, when none is.
    waiting_for: str | None


def standing() -> Standing:
    """Everything the admin page says about the stage model."""
    config = current_app.config
    in_use = store.promoted_model()
    latest = store.latest_model()
    waiting_for = None
    if in_use is None:
        minimum = config["HELPDESK_STAGE_MODEL_MIN_PER_STAGE"]
        waiting_for = training.shortfall(training.stage_counts(), minimum) or (
            "there are examples enough: the worker trains one at its next check, or run "
            "`helpdesk stages train`"
        )
    return Standing(
        mode=config["HELPDESK_STAGE_MODEL"],
        threshold=config["HELPDESK_STAGE_MODEL_THRESHOLD"],
        in_use=in_use,
        passed_over=latest if latest is not None and latest != in_use else None,
        use=model_use(in_use) if in_use is not None else None,
        waiting_for=waiting_for,
    )
