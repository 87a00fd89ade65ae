"""The ``helpdesk`` console script: a FlaskGroup over ``create_app``."""

from __future__ import annotations

from flask import Flask
from flask.cli import FlaskGroup


def register_commands(app: Flask) -> None:
    """Attach every command group to the app (``flask --app wsgi`` sees the same commands)."""
    from helpdesk.commands import (
        backup,
        chat,
        demo,
        mailbox,
        reports,
        routing,
        sla,
        sms,
        stages,
        teams,
        users,
        worker,
    )

    for module in (users, teams, stages, routing, sla, reports, mailbox, sms, chat, worker, demo):
        app.cli.add_command(module.command)
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)


def _create_app() -> Flask:
    from helpdesk import create_app

    return create_app()


cli = FlaskGroup(create_app=_create_app, help="Omnichannel helpdesk management commands.")
