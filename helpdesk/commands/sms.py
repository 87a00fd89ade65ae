"""``helpdesk sms``: the Twilio numbers and Messaging Services customers text."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from helpdesk.extensions import db
from helpdesk.models import Stage
from helpdesk.tickets import sms
from helpdesk.tickets.errors import TicketError

STAGES = click.Choice([stage.value for stage in Stage if stage != Stage.UNKNOWN])


@click.group("sms")
def command() -> None:
    """Register the numbers and Messaging Services customers text."""


def _keyword_option(
    ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    keywords = {}
    for value in values:
        word, sep, stage = value.partition("=")
        if not sep or not word.strip() or not stage.strip():
            raise click.BadParameter(f"use WORD=STAGE, e.g. ORDER=purchase (got {value!r})")
        keywords[word.strip()] = stage.strip().lower()
    return keywords


@command.command("add-number")
@click.option("--number", help="A Twilio phone number, e.g. +15550001111.")
@click.option("--messaging-service", help="A Messaging Service SID (MG…): all its numbers.")
@click.option("--stage", type=STAGES, help="Default journey stage of texts to it.")
@click.option(
    "--keyword",
    "keywords",
    multiple=True,
    callback=_keyword_option,
    metavar="WORD=STAGE",
    help="A stage rule on the text's first word, e.g. ORDER=purchase (repeatable).",
)
@click.option("--name", help="A label agents see, e.g. 'Shop text line'.")
@with_appcontext
def add_number(
    number: str | None,
    messaging_service: str | None,
    stage: str | None,
    keywords: dict[str, str],
    name: str | None,
) -> None:
    """Register a number (or update it) with its default stage and keyword rules."""
    try:
        endpoint = sms.add_number(
            number=number,
            messaging_service=messaging_service,
            stage=stage,
            keywords=keywords,
            name=name,
        )
    except TicketError as error:
        raise click.UsageError(str(error)) from None
    db.session.commit()
    click.echo(f"Registered {endpoint.address} (default stage {endpoint.default_stage or '-'})")
    for word, rule_stage in keywords.items():
        click.echo(f"  first word {word.upper()} -> {rule_stage}")
    public_url = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/")
    click.echo(f"Set its incoming-message webhook at Twilio to {public_url}/webhooks/twilio/sms")
    if not current_app.config["TWILIO_ACCOUNT_SID"] or not current_app.config["TWILIO_AUTH_TOKEN"]:
        click.echo(
            "Warning: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are not set; webhooks are "
            "refused and replies wait until they are.",
            err=True,
        )


@command.command("list")
@with_appcontext
def list_numbers() -> None:
    """Every number and Messaging Service, with its stage, keywords and ticket count."""
    numbers = sms.list_numbers()
    if not numbers:
        click.echo("No SMS numbers yet; add one with `helpdesk sms add-number --number +1…`.")
    for number in numbers:
        keywords = " ".join(f"{word}={stage.value}" for word, stage in number.keywords) or "-"
        state = "" if number.registered else "  (not registered; seen in traffic)"
        click.echo(
            f"{number.address:<36} {number.kind:<18} stage={number.default_stage or '-':<12} "
            f"keywords={keywords}  tickets={number.tickets}{state}"
        )


@command.command("remove-number")
@click.argument("address")
@with_appcontext
def remove_number(address: str) -> None:
    """Unregister a number or Messaging Service; its tickets stay."""
    try:
        sms.remove_number(address)
    except TicketError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Removed {address}")
