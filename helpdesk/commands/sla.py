"""``helpdesk sla``: first-response and resolution targets per journey stage."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from helpdesk.extensions import db
from helpdesk.models import Stage
from helpdesk.tickets import sla


@click.group("sla")
def command() -> None:
    """Show and set service targets per journey stage (in business hours)."""


@command.command("list")
@with_appcontext
def list_targets() -> None:
    """Every stage with its targets."""
    targets = sla.targets()
    for stage in Stage:
        target = targets.get(stage)
        first = sla.format_minutes(target.first_response_minutes) if target else ""
        solve = sla.format_minutes(target.resolution_minutes) if target else ""
        click.echo(f"{stage.value:<12} first response {first or '-':<10} resolution {solve or '-'}")


@command.command("set")
@click.argument("stage", type=click.Choice([stage.value for stage in Stage]))
@click.option("--first-response", default="", help="e.g. 30m, 4h, 1d; empty for no target.")
@click.option("--resolution", default="", help="e.g. 8h, 2d; empty for no target.")
@with_appcontext
def set_target(stage: str, first_response: str, resolution: str) -> None:
    """Set STAGE's targets; new tickets of that stage get deadlines from them."""
    try:
        sla.set_target(stage, sla.parse_minutes(first_response), sla.parse_minutes(resolution))
    except ValueError as error:
        raise click.BadParameter(str(error)) from None
    db.session.commit()
    click.echo(f"{stage}: first response {first_response or '-'}, resolution {resolution or '-'}")
