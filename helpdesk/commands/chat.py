"""``helpdesk chat``: register the websites that embed the chat widget."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from helpdesk.chat import sites
from helpdesk.extensions import db
from helpdesk.models import Stage
from helpdesk.tickets.errors import TicketError

STAGES = click.Choice([stage.value for stage in Stage if stage != Stage.UNKNOWN])


@click.group("chat")
def command() -> None:
    """Chat sites: the websites that embed the widget."""


@command.command("add-site")
@click.option("--name", required=True, help="Shown as the chat window's title.")
@click.option("--origin", "origins", multiple=True, required=True, help="e.g. https://shop.example")
@click.option("--stage", type=STAGES, help="Default stage when no choice or rule applies.")
@click.option("--mailbox", help="Support address that offline replies are sent from.")
@click.option("--url-rule", "url_rules", multiple=True, metavar="PATTERN=STAGE")
@click.option("--choice", "choices", multiple=True, metavar="LABEL=STAGE")
@with_appcontext
def add_site(
    name: str,
    origins: tuple[str, ...],
    stage: str | None,
    mailbox: str | None,
    url_rules: tuple[str, ...],
    choices: tuple[str, ...],
) -> None:
    """Register a site; prints its embed snippet and its identity secret."""
    try:
        site = sites.add_site(
            name,
            list(origins),
            stage=Stage(stage) if stage else None,
            mailbox=mailbox,
            url_rules=[sites.parse_pair(rule, "--url-rule") for rule in url_rules],
            choices=[sites.parse_pair(choice, "--choice") for choice in choices],
        )
    except TicketError as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    public_url = current_app.config["HELPDESK_PUBLIC_URL"]
    click.echo(f"Added chat site {site.name} (key {site.address}) for {', '.join(origins)}.")
    click.echo("Paste this tag into every page:")
    click.echo(f"  {sites.embed_snippet(site, public_url)}")
    click.echo("For a logged-in user, add their id and its signature:")
    click.echo(f"  {sites.logged_in_snippet(site, public_url)}")
    click.echo(f"Identity secret (keep it on your server): {sites.secret_of(site)}")


@command.command("list-sites")
@with_appcontext
def list_sites() -> None:
    """Every registered chat site with its key and origins."""
    for site in sites.all_sites():
        origins = ", ".join(site.settings.get("origins", []))
        click.echo(f"{site.address}  {site.label}  {origins}")
