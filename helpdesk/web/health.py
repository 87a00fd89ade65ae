"""``GET /healthz``: what a load balancer or a monitor asks a web process.

It answers 200 while this process can serve: the database answers and holds the schema this
code expects. It answers 503 when the database is unreachable or its schema is older or newer
than the code (run ``helpdesk db upgrade``), so a balancer stops sending it requests. Redis is
reported but never fails the check: chat falls back to polling the database and rate limits to
this process's memory. The ages of the oldest due reply and the oldest text not yet taken in say
whether workers keep up (a growing age means none is running); a monitor alerts on them, the
balancer ignores them. Nothing here names a customer or counts tickets: the page is public.
"""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Flask, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from helpdesk.backups import code_revisions
from helpdesk.chat.hub import redis_client
from helpdesk.extensions import db
from helpdesk.models import DeliveryState, Direction, InboxItem, Message, utcnow

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def health() -> tuple[Response, int]:
    """The process's readiness as JSON: 200 when it can serve, 503 when it cannot."""
    report: dict[str, object] = {"redis": _redis_state()}
    try:
        schema = _schema_state()
        report |= {"database": "ok", "schema": schema}
        ready = schema == "current"
        if ready:
            report["backlog_seconds"] = _backlog_seconds()
    except SQLAlchemyError:
        db.session.rollback()
        report |= {"database": "unreachable"}
        ready = False
    report["status"] = "ok" if ready else "unavailable"
    return jsonify(report), 200 if ready else 503


def _schema_state() -> str:
    """``current``, or ``behind`` / ``ahead`` of the code (or ``missing`` before the first
    ``helpdesk db upgrade``)."""
    if not db.inspect(db.engine).has_table("alembic_version"):
        return "missing"
    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    head, known = _code_revisions(current_app)
    if revision == head:
        return "current"
    return "behind" if revision in known else "ahead"


def _code_revisions(app: Flask) -> tuple[str, set[str]]:
    """The code's head revision and every revision it knows (read from disk once)."""
    found = app.extensions.get("helpdesk.revisions")
    if found is None:
        found = app.extensions["helpdesk.revisions"] = code_revisions()
    return found


def _backlog_seconds() -> dict[str, int]:
    """How long the oldest due reply and the oldest text waiting for intake have waited."""
    now = utcnow()
    oldest_reply = db.session.scalar(
        select(func.min(Message.next_attempt_at)).where(
            Message.direction == Direction.OUTBOUND,
            Message.delivery_state == DeliveryState.QUEUED,
            Message.next_attempt_at <= now,
        )
    )
    oldest_text = db.session.scalar(
        select(func.min(InboxItem.next_attempt_at)).where(
            InboxItem.processed_at.is_(None), InboxItem.next_attempt_at <= now
        )
    )
    return {"replies": _age(oldest_reply, now), "texts": _age(oldest_text, now)}


def _age(since: datetime | None, now: datetime) -> int:
    return 0 if since is None else max(0, int((now - since).total_seconds()))


def _redis_state() -> str:
    """``off`` without ``REDIS_URL``, else ``ok`` or ``unreachable``."""
    client = redis_client(current_app)
    if client is None:
        return "off"
    try:
        client.ping()
    except Exception:  # any failure to reach it (refused, timeout, auth) means the same here
        return "unreachable"
    return "ok"
