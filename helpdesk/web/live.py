"""Server-sent event streams over the chat event log, for widgets and agents' pages alike.

A stream replays the events after the client's Last-Event-ID, then waits for the hub to ring
and reads again. It holds no database connection while it waits, sends a comment line as a
heartbeat (which also notices a client that went away), and ends after a while so proxies
and load balancers never see one endless request; the browser reconnects where it left off.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from flask import Flask, current_app, request
from sqlalchemy import Engine
from werkzeug.wrappers import Response

from helpdesk.chat import events
from helpdesk.chat.hub import hub_of
from helpdesk.extensions import db

HEARTBEAT_SECONDS = 15.0
STREAM_SECONDS = 300.0
RECONNECT_MS = 1000


def resume_point(default: int = 0) -> int:
    """Where the client left off: the Last-Event-ID header, or ``after`` in the query;
    ``default`` when it sends neither."""
    given = [
        int(value)
        for value in (request.headers.get("Last-Event-ID"), request.args.get("after"))
        if value and value.strip().isdigit()
    ]
    return max(given, default=default)


def event_stream(
    stream: events.Stream, after: int, on_beat: Callable[[], None] | None = None
) -> Response:
    """A text/event-stream response following ``stream`` from event id ``after``."""
    app = current_app._get_current_object()
    body = _generate(app, db.engine, stream, after, on_beat)
    response = Response(body, mimetype="text/event-stream")
    response.headers["Cache-Control"] = "no-cache, no-transform"
    # Proxies such as nginx would otherwise buffer the stream and defeat real time.
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _generate(
    app: Flask,
    engine: Engine,
    stream: events.Stream,
    after: int,
    on_beat: Callable[[], None] | None,
) -> Iterator[str]:
    heartbeat = app.config.get("HELPDESK_CHAT_HEARTBEAT", HEARTBEAT_SECONDS)
    ends_at = time.monotonic() + app.config.get("HELPDESK_CHAT_STREAM_SECONDS", STREAM_SECONDS)
    # On PostgreSQL each read is one SELECT in autocommit: no BEGIN and ROLLBACK round trips
    # around it. SQLite's driver begins no transaction for a read anyway.
    read_options = {"isolation_level": "AUTOCOMMIT"} if engine.dialect.name == "postgresql" else {}
    query = events.events_query(stream)
    waiter = hub_of(app).register(stream.keys)
    try:
        yield f"retry: {RECONNECT_MS}\n\n"
        # The request that opened the stream has just noted its client as present.
        beat = False
        # The first read always happens: a reconnecting browser gets what it missed at once.
        while True:
            waiter.reset()
            if beat and on_beat is not None:
                with app.app_context():
                    on_beat()
                    db.session.remove()
            with engine.connect().execution_options(**read_options) as connection:
                found = events.read_since(connection, query, after)
            if found:
                chunk = "".join(events.as_sse(e) for e in found if not events.stale(e))
                after = found[-1].id
                yield chunk
                if len(found) == events.REPLAY_LIMIT:
                    continue
            if time.monotonic() >= ends_at:
                return
            beat = not waiter.wait(heartbeat)
            if beat:
                yield ": keep-alive\n\n"
    finally:
        hub_of(app).unregister(waiter)
