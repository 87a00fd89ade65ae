"""The helpdesk Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from helpdesk.config import engine_options, load_config, secure_cookies
from helpdesk.extensions import csrf, db, limiter, login_manager, render_column_type


def create_app(test_config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the application; ``test_config`` overrides what the environment says.

    ``web=False`` leaves out the pages, the API and their URLs, and the schema's migrations
    (``helpdesk db``, Alembic), for the CLI's commands that serve nothing: the same database,
    services and session hooks, without half of the start-up.
    """
    app = Flask(__name__, instance_relative_config=True)
    load_config(app)
    if test_config:
        app.config.update(test_config)
    secure_cookies(app, test_config or {})
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )

    db.init_app(app)
    if web:
        _add_migrations(app)
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)

    from channels.email.smtp import EmailAdapter
    from helpdesk import (
        audit,  # noqa: F401  (its session hooks keep the audit trail)
        inbox_writer,
        models,  # noqa: F401  (register every table with the metadata)
    )
    from helpdesk.chat import hub
    from helpdesk.cli import register_commands
    from helpdesk.mail.mailboxes import smtp_settings_for
    from helpdesk.outbox import AdapterRegistry, twilio_adapter
    from helpdesk.privacy import suppressions  # noqa: F401  (carries refusals to new identities)
    from helpdesk.reports import (  # noqa: F401  (their session hooks record report deltas)
        journey_rollups,
        rollups,
    )
    from helpdesk.tickets import versions  # noqa: F401  (its session hooks keep ticket versions)
    from helpdesk.tickets.sla import BusinessHours
    from helpdesk.web import register_web
    from helpdesk.webhooks import events  # noqa: F401  (its session hooks fill the webhook outbox)

    # Fail at start-up, not at the first request, on business hours nobody can read.
    BusinessHours.parse(app.config["HELPDESK_BUSINESS_HOURS"], app.config["HELPDESK_TIMEZONE"])
    registry = AdapterRegistry()
    registry.register(EmailAdapter(smtp_settings_for))
    sms_adapter = twilio_adapter(app.config)
    if sms_adapter is not None:
        registry.register(sms_adapter)
    app.extensions["helpdesk.adapters"] = registry
    inbox_writer.init_app(app)
    hub.init_app(app)
    if web:
        register_web(app)
    register_commands(app, web=web)
    _trust_proxies(app, app.config["HELPDESK_TRUSTED_PROXIES"])
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Read the client's address, scheme and host from the headers of ``hops`` proxies in front.

    Without proxies the headers are anyone's to forge, so they are ignored: rate limits count
    the connecting address.
    """
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )


def _add_migrations(app: Flask) -> None:
    """``helpdesk db`` and what flask_migrate's ``upgrade()`` reads (Alembic: a tenth of a
    second to load, which a one-shot mailbox fetch does without)."""
    from flask_migrate import Migrate

    from helpdesk.tickets.search import include_in_autogenerate

    Migrate(
        app,
        db,
        directory=_migrations_dir(),
        render_as_batch=True,
        render_item=render_column_type,
        include_name=include_in_autogenerate,
    )


def _migrations_dir() -> str:
    from pathlib import Path

    return str(Path(__file__).resolve().parent.parent / "migrations")


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL lets the web app and the worker share one SQLite file; enforce foreign keys."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # SQLite's advice for WAL: no fsync per commit, never corrupt; a power cut (not a
        # crashed process) may undo the last commits. PostgreSQL is for full durability.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
