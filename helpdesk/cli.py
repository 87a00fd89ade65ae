"""The ``helpdesk`` console script: a FlaskGroup over ``create_app``."""

from __future__ import annotations

import gc

import click
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo


def register_commands(app: Flask, *, web: bool = True) -> None:
    """Attach every command group to the app (``flask --app wsgi`` sees the same commands).

    An app built for a command that serves nothing (``web=False``, see ``_WITHOUT_WEB``) gets
    only those groups: a one-shot ``helpdesk mailbox fetch`` loads neither the backups (Alembic)
    nor the demo, the worker's jobs or the other groups' modules.
    """
    from helpdesk.commands import mailbox

    app.cli.add_command(mailbox.command)
    if not web:
        return
    from helpdesk.commands import (
        backup,
        chat,
        demo,
        reports,
        routing,
        sla,
        sms,
        stages,
        teams,
        users,
        worker,
    )

    for module in (users, teams, stages, routing, sla, reports, sms, chat, worker, demo):
        app.cli.add_command(module.command)
    app.cli.add_command(backup.backup)
    app.cli.add_command(backup.restore)


# Command groups that neither serve pages nor make their URLs: their app is built without the
# web layer, which is half of the start-up of a one-shot `helpdesk mailbox fetch` (issue 19).
_WITHOUT_WEB = frozenset({"mailbox"})
_WEB = "helpdesk web layer"


class _HelpdeskGroup(FlaskGroup):
    """Tells the app factory which command is asked for before it builds the app."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        data = ctx.ensure_object(ScriptInfo).data
        data.setdefault(_WEB, name not in _WITHOUT_WEB)
        return super().get_command(ctx, name)


def _create_app() -> Flask:
    from helpdesk import create_app

    ctx = click.get_current_context(silent=True)
    info = ctx.find_object(ScriptInfo) if ctx else None
    app = create_app(web=info.data.get(_WEB, True) if info else True)
    # What start-up built (modules, classes, the app) lives as long as the command: the
    # collector's full passes need not walk it again (a tenth of a second of a one-shot
    # `helpdesk mailbox fetch`, whose first query configures every mapper).
    gc.freeze()
    return app


cli = _HelpdeskGroup(create_app=_create_app, help="Omnichannel helpdesk management commands.")
