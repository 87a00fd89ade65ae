"""``helpdesk reports``: the figures kept ready for the reports."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from helpdesk.extensions import db


@click.group("reports")
def command() -> None:
    """Keep the report figures in step with the tickets."""


@command.command("rebuild")
@with_appcontext
def rebuild() -> None:
    """Count every ticket again in HELPDESK_TIMEZONE (after an import, a bulk SQL change or a
    time-zone change)."""
    from helpdesk.reports import journey_rows, rollup_rows  # numpy: loaded by these commands

    timezone = current_app.config["HELPDESK_TIMEZONE"]
    rows = rollup_rows.rebuild(db.session.connection(), timezone)
    flow_rows = journey_rows.rebuild(db.session.connection(), timezone)
    db.session.commit()
    click.echo(
        f"Stage dashboard counts rebuilt in {timezone}: {rows:,} rows, "
        f"and {flow_rows:,} rows of its journey flow."
    )


@command.command("fold")
@with_appcontext
def fold() -> None:
    """Fold the recorded changes into the daily rows now (the worker does it every few seconds)."""
    from helpdesk.reports import journey_rows, rollup_rows  # numpy: loaded by these commands

    folded = rollup_rows.fold_due() + journey_rows.fold_due()
    click.echo(f"Stage dashboard: {folded:,} changes folded.")
