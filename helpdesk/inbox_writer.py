"""Group commit for the webhook inbox: the payloads of concurrent webhooks stored together.

Each web process has one writer thread. A webhook hands it a verified payload and waits; the
writer takes everything handed over meanwhile, stores it in one transaction and only then
wakes each waiting webhook, so a 200 answer always follows a commit that holds its payload.
A batch that cannot be stored wakes each of its webhooks with the error, and they answer 503:
the provider sends again, and a retry of a payload that was stored after all is a duplicate
the insert leaves alone. On PostgreSQL a commit's flush to disk, on SQLite taking the one
write lock, is paid once per batch instead of once per request.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Connection

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.inbox import inbox_insert, new_item
from helpdesk.models import utcnow
from helpdesk.transient import describe, retried

# Twilio gives up on an answer after 15 s; answering 503 before that tells it plainly.
STORE_PATIENCE = 12.0
# A bound on one transaction's size when a burst has piled up behind a slow commit.
MAX_BATCH = 500

log = logging.getLogger(__name__)


class NotStored(Exception):
    """The payload could not be stored in time; the provider should send it again."""


@dataclass(slots=True)
class _Handover:
    row: dict[str, Any]
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class InboxWriter:
    """The web process's one writer of inbox rows, started with the first payload."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._queue: queue.SimpleQueue[_Handover] = queue.SimpleQueue()
        self._started_in: int | None = None
        self._starting = threading.Lock()
        self._connection: Connection | None = None

    def store(
        self, channel: Channel, external_id: str, payload: dict[str, Any], *, sender: str
    ) -> None:
        """Return once the payload is committed (or was already stored), else raise NotStored."""
        handover = _Handover(new_item(channel, external_id, payload, utcnow(), sender=sender))
        self._ensure_running()
        self._queue.put(handover)
        if not handover.done.wait(STORE_PATIENCE):
            raise NotStored(f"not stored within {STORE_PATIENCE:.0f} s")
        if handover.error is not None:
            raise NotStored(describe(handover.error)) from handover.error

    def _ensure_running(self) -> None:
        # A process forked from one that had started the writer (gunicorn --preload) has no
        # thread of its own yet.
        if self._started_in == os.getpid():
            return
        with self._starting:
            if self._started_in != os.getpid():
                self._queue = queue.SimpleQueue()
                self._connection = None
                threading.Thread(target=self._run, name="inbox-writer", daemon=True).start()
                self._started_in = os.getpid()

    def _run(self) -> None:
        writing = self._queue
        with self._app.app_context():
            while True:
                batch = [writing.get()]
                while len(batch) < MAX_BATCH:
                    try:
                        batch.append(writing.get_nowait())
                    except queue.Empty:
                        break
                self._write(batch)

    def _write(self, batch: list[_Handover]) -> None:
        rows = [handover.row for handover in batch]
        try:
            retried(lambda: self._insert(rows), "storing webhook payloads")
        except Exception as error:
            log.error("storing %d webhook payloads failed: %s", len(rows), describe(error))
            for handover in batch:
                handover.error = error
        finally:
            for handover in batch:
                handover.done.set()

    def _insert(self, rows: list[dict[str, Any]]) -> None:
        # The writer keeps its connection: a pool checkout, its ping and its reset cost more
        # than the insert of a few rows. One executemany of one statement, compiled once.
        if self._connection is None:
            self._connection = db.engine.connect()
        try:
            self._connection.execute(inbox_insert(self._connection.dialect.name), rows)
            self._connection.commit()
        except Exception:
            # Dropped, not handed back to the pool: after a commit that failed half-way the
            # pool may take the transaction for ended and skip its rollback, so the connection
            # would keep the rows (and SQLite's write lock) for whoever took it next. Closing
            # the driver's connection undoes whatever it held; the next try starts afresh.
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
            raise


def store(channel: Channel, external_id: str, payload: dict[str, Any], *, sender: str) -> None:
    """Store a verified payload through this app's writer; raise NotStored when it cannot."""
    writer: InboxWriter = current_app.extensions["helpdesk.inbox_writer"]
    writer.store(channel, external_id, payload, sender=sender)


def init_app(app: Flask) -> None:
    """Give the app its writer (its thread starts with the first payload)."""
    app.extensions["helpdesk.inbox_writer"] = InboxWriter(app)
