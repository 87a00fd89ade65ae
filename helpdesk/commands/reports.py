"""``helpdesk reports``: the figures kept ready for the reports."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from helpdesk.extensions import db
from helpdesk.reports import rollups


@click.group("reports")
def command() -> None:
    """Keep the report figures in step with the tickets."""


@command.command("rebuild")
@with_appcontext
def rebuild() -> None:
    """Count every ticket again in HELPDESK_TIMEZONE (after an import, a bulk SQL change or a
    time-zone change)."""
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    rows = rollups.rebuild(db.session.connection(), timezone)
    db.session.commit()
    click.echo(f"Stage dashboard counts rebuilt in {timezone}: {rows:,} rows.")


@command.command("fold")
@with_appcontext
def fold() -> None:
    """Fold the recorded changes into the daily rows now (the worker does it every few seconds)."""
    click.echo(f"Stage dashboard: {rollups.fold_due():,} changes folded.")
