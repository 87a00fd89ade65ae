"""The worker's stage-model job: a cheap check each turn, and the training itself in a thread
of its own, so the worker's loop (sending, taking in webhook payloads) never waits on it."""

from __future__ import annotations

import threading

from flask import Flask, current_app

from helpdesk.extensions import db
from helpdesk.models import utcnow
from helpdesk.stage_model.store import retrain_when_due, retraining_due
from helpdesk.transient import log_failure

# How often the worker asks whether a retrain is due (the schedule itself is a setting).
CHECK_SECONDS = 600.0


class Retrainer:
    """Starts a training when one is due and none is running in this process."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        """Start a retrain in the background when one is due."""
        if self.thread is not None and self.thread.is_alive():
            return
        due = current_app.config["HELPDESK_STAGE_MODEL"] != "off" and retraining_due(utcnow())
        # Only read: the worker's loop starts its next job on a clean session.
        db.session.rollback()
        if not due:
            return
        app = current_app._get_current_object()
        self.thread = threading.Thread(
            target=self._train, args=(app,), name="stage-model", daemon=True
        )
        self.thread.start()

    def run_and_wait(self) -> None:
        """Retrain when one is due and return when it is done (``helpdesk worker --once``)."""
        self.run()
        if self.thread is not None:
            self.thread.join()

    def _train(self, app: Flask) -> None:
        # A thread of its own needs an app context, and so a database session, of its own.
        with app.app_context():
            try:
                trained = retrain_when_due()
                if trained is not None:
                    app.logger.info(
                        "stage model version %s: %s", trained.model.id, trained.model.verdict
                    )
            except Exception as error:
                log_failure(app.logger, "stage model: training", error)
            finally:
                db.session.rollback()
