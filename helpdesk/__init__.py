"""The helpdesk Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine

from helpdesk.config import engine_options, load_config
from helpdesk.extensions import csrf, db, login_manager, migrate, render_column_type


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; ``test_config`` overrides what the environment says."""
    app = Flask(__name__, instance_relative_config=True)
    load_config(app)
    if test_config:
        app.config.update(test_config)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )

    db.init_app(app)
    migrate.init_app(
        app, db, directory=_migrations_dir(), render_as_batch=True, render_item=render_column_type
    )
    login_manager.init_app(app)
    csrf.init_app(app)

    from channels.email.smtp import EmailAdapter
    from helpdesk import models  # noqa: F401  (register every table with the metadata)
    from helpdesk.cli import register_commands
    from helpdesk.mail.mailboxes import smtp_settings_for
    from helpdesk.outbox import AdapterRegistry
    from helpdesk.web.api import bp as api_bp

    adapters = AdapterRegistry()
    adapters.register(EmailAdapter(smtp_settings_for))
    app.extensions["helpdesk.adapters"] = adapters
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)
    register_commands(app)
    return app


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
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
