"""Wake-ups for live streams, across every web process.

Each process keeps one ``Hub``: streams wait on it for the keys they follow, and one
background thread feeds it. With ``REDIS_URL`` set, committed transactions publish their keys
on a Redis channel and the thread relays them; without Redis (or while it is unreachable) the
thread polls the event table for ids above the last it saw. Either way the events themselves
are read from the database, so a lost wake-up only delays a stream until its next heartbeat,
it never loses an event.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable

from flask import Flask
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from helpdesk.chat.events import event_assignee_id, take_pending_wakeups, wakeup_keys
from helpdesk.config import REDIS_MAX_CONNECTIONS
from helpdesk.extensions import db
from helpdesk.models import ChatEvent
from helpdesk.transient import log_failure

REDIS_CHANNEL = "helpdesk:chat-events"
POLL_INTERVAL = 0.1  # seconds between looks at the event table when there is no Redis
RETRY_INTERVAL = 1.0

log = logging.getLogger(__name__)


class Waiter:
    """One stream's doorbell."""

    def __init__(self, keys: Iterable[str]) -> None:
        self.keys = tuple(keys)
        self._rung = threading.Event()

    def ring(self) -> None:
        self._rung.set()

    def reset(self) -> None:
        """Call before reading events, so a ring during the read is not missed."""
        self._rung.clear()

    def wait(self, timeout: float) -> bool:
        return self._rung.wait(timeout)


class Hub:
    """The streams of this process, by the keys they wait for."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._lock = threading.Lock()
        self._waiters: dict[str, set[Waiter]] = defaultdict(set)
        self._pid = os.getpid()
        self._thread: threading.Thread | None = None

    def register(self, keys: Iterable[str]) -> Waiter:
        self._ensure_listening()
        waiter = Waiter(keys)
        with self._lock:
            for key in waiter.keys:
                self._waiters[key].add(waiter)
        return waiter

    def unregister(self, waiter: Waiter) -> None:
        with self._lock:
            for key in waiter.keys:
                self._waiters[key].discard(waiter)
                if not self._waiters[key]:
                    del self._waiters[key]

    def wake(self, keys: Iterable[str]) -> None:
        with self._lock:
            waiters = {waiter for key in keys for waiter in self._waiters.get(key, ())}
        for waiter in waiters:
            waiter.ring()

    def wake_all(self) -> None:
        """Every stream reads again: after a gap in which wake-ups may have been missed."""
        with self._lock:
            waiters = {waiter for waiting in self._waiters.values() for waiter in waiting}
        for waiter in waiters:
            waiter.ring()

    def announce(self, keys: set[str]) -> None:
        """After a commit: wake the streams of every process, this one included."""
        client = redis_client(self._app)
        if client is None:
            self.wake(keys)
            return
        try:
            # Our own listener hears this too, so local streams are not woken twice.
            client.publish(REDIS_CHANNEL, json.dumps(sorted(keys)))
        except Exception as error:
            # The events are committed; other processes poll the database while Redis is away.
            log.warning("could not publish chat wake-ups to Redis: %s", error)
            self.wake(keys)

    def _ensure_listening(self) -> None:
        # A forked worker (gunicorn) inherits the object but not the thread: start its own.
        if self._thread is not None and self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()
                listen = self._listen_redis if redis_client(self._app) else self._poll_database
                self._thread = threading.Thread(target=listen, name="chat-hub", daemon=True)
                self._thread.start()

    def _listen_redis(self) -> None:
        while True:
            try:
                pubsub = redis_client(self._app).pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(REDIS_CHANNEL)
                # Whatever was committed while we were not subscribed is read now.
                self.wake_all()
                for message in pubsub.listen():
                    self.wake(json.loads(message["data"]))
            except Exception as error:
                log.warning(
                    "chat wake-ups from Redis interrupted (%s); polling the database until it "
                    "answers again",
                    error,
                )
                self.wake_all()
                self._poll_database(until=self._redis_answers())

    def _redis_answers(self) -> Callable[[], bool]:
        """A check, asked at most once per ``RETRY_INTERVAL``, that Redis answers again."""
        next_look = time.monotonic() + RETRY_INTERVAL

        def answers() -> bool:
            nonlocal next_look
            if time.monotonic() < next_look:
                return False
            next_look = time.monotonic() + RETRY_INTERVAL
            try:
                return bool(redis_client(self._app).ping())
            except Exception:
                return False

        return answers

    def _poll_database(self, until: Callable[[], bool] = lambda: False) -> None:
        last = None
        while not until():
            try:
                with self._app.app_context():
                    last = self._poll_once(last)
                    db.session.remove()
            except Exception as error:
                log_failure(log, "polling chat events", error)
                time.sleep(RETRY_INTERVAL)
            time.sleep(POLL_INTERVAL)

    def _poll_once(self, last: int | None) -> int | None:
        with self._lock:
            if not self._waiters:
                # Nobody to wake: no query. A stream that comes reads the database first.
                return None
        if last is None:
            last = db.session.scalar(select(ChatEvent.id).order_by(ChatEvent.id.desc())) or 0
            # Streams read again: something may have been committed just before this point.
            self.wake_all()
            return last
        rows = db.session.execute(
            select(
                ChatEvent.id,
                ChatEvent.kind,
                ChatEvent.conversation_id,
                ChatEvent.ticket_id,
                event_assignee_id,
            )
            .where(ChatEvent.id > last)
            .order_by(ChatEvent.id)
            .limit(1000)
        ).all()
        keys = set()
        for event_id, kind, conversation_id, ticket_id, assignee_id in rows:
            last = event_id
            keys |= wakeup_keys(kind, conversation_id, ticket_id, assignee_id)
        if keys:
            self.wake(keys)
        return last


def redis_client(app: Flask):
    """The app's Redis client, or None when ``REDIS_URL`` is not set."""
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    client = app.extensions.get("helpdesk.redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url, max_connections=REDIS_MAX_CONNECTIONS)
        app.extensions["helpdesk.redis"] = client
    return client


def init_app(app: Flask) -> None:
    """Give the app its hub; committed chat events wake their streams."""
    app.extensions["helpdesk.chat_hub"] = Hub(app)


def hub_of(app: Flask) -> Hub:
    return app.extensions["helpdesk.chat_hub"]


@event.listens_for(Session, "after_commit")
def _announce_committed(session: Session) -> None:
    # SQLAlchemy calls this on releasing a savepoint too; other processes would then look
    # for events not committed yet, find nothing and sleep until their next heartbeat.
    if session.in_nested_transaction():
        return
    keys = take_pending_wakeups(session)
    if not keys:
        return
    from flask import current_app

    hub_of(current_app._get_current_object()).announce(keys)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    # A rolled-back savepoint keeps the outer transaction's keys: a spare wake-up is harmless.
    if not session.in_nested_transaction():
        take_pending_wakeups(session)
