"""``helpdesk demo``: load realistic demo data once and print the logins; its subcommands run
the demo's local channels and hand it a customer's mail or text."""

from __future__ import annotations

import sys
import textwrap
import threading
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute
from werkzeug.serving import make_server

from helpdesk import demo, demo_channels
from helpdesk.chat import sites
from helpdesk.commands.worker import stop_on_signals
from helpdesk.extensions import db
from helpdesk.models import Customer, IntakeOutcome, Ticket, User
from helpdesk.tickets import sla

PORT = click.IntRange(min=1, max=65535)


@click.group("demo", invoke_without_command=True)
@click.option(
    "--tickets",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Tickets to create, follow-ups included.",
)
@click.option(
    "--customers",
    type=click.IntRange(min=1, max=demo.MAX_CUSTOMERS),
    default=200,
    show_default=True,
    help="People who write in.",
)
@click.option(
    "--shop-port",
    type=PORT,
    default=demo_channels.SHOP_PORT,
    show_default=True,
    help="Where `helpdesk demo shop` serves the shop page (its origin is registered).",
)
@click.option(
    "--smtp-port",
    type=PORT,
    default=demo_channels.SMTP_PORT,
    show_default=True,
    help="Where `helpdesk demo sinks` takes mail (the demo mailbox sends there).",
)
@click.option(
    "--webhook-port",
    type=PORT,
    default=demo_channels.WEBHOOK_PORT,
    show_default=True,
    help="Where `helpdesk demo sinks` receives webhooks (subscribed to every event when "
    "HELPDESK_WEBHOOKS_ALLOW_PRIVATE is set, as `make demo` does).",
)
@click.pass_context
@with_appcontext
def command(
    ctx: click.Context,
    tickets: int,
    customers: int,
    shop_port: int,
    smtp_port: int,
    webhook_port: int,
) -> None:
    """Load two months of demo requests on every channel (idempotent); print the logins."""
    if ctx.invoked_subcommand is not None:
        return
    added = demo.load(tickets=tickets, customers=customers)
    shop_origins = [f"http://{host}:{shop_port}" for host in (demo_channels.HOST, "localhost")]
    demo_channels.set_up(shop_origins, smtp_port)
    if added:
        demo.reach_out()
    db.session.commit()
    # Subscribed after the history is in, so the receiver hears what happens from now on.
    demo_channels.subscribe_receiver(webhook_port)
    db.session.commit()
    # Deadlines the demo's history already missed are recorded as the worker would have.
    sla.record_breaches()
    if added:
        _print_summary()
    else:
        click.echo("Demo data is already loaded; nothing was added.")
    click.echo(f"Logins (every demo user's password is {demo.PASSWORD}):")
    for member in demo.STAFF:
        click.echo(f"{member.role.value}  {member.email}  {demo.PASSWORD}")


def _print_summary() -> None:
    users = _counts(User.role)
    roles = ", ".join(f"{n} {role}" for role, n in users.items())
    click.echo(f"Users: {sum(users.values())} ({roles})")
    customers = db.session.scalar(select(func.count()).select_from(Customer))
    tickets = _counts(Ticket.channel)
    click.echo(f"Customers: {customers}; tickets: {sum(tickets.values())}")
    click.echo("Tickets by channel: " + ", ".join(f"{c} {n}" for c, n in tickets.items()))
    stages = _counts(Ticket.stage)
    click.echo("Tickets by stage: " + ", ".join(f"{s} {n}" for s, n in stages.items()))


def _counts(column: InstrumentedAttribute) -> dict[str, int]:
    rows = db.session.execute(select(column, func.count()).group_by(column).order_by(column))
    return {value.value: count for value, count in rows}


def _outbox(directory: Path | None) -> Path:
    return directory or Path(current_app.instance_path) / "demo-outbox"


DIRECTORY = click.option(
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where sent mail and texts are kept  [default: instance/demo-outbox]",
)


@command.command("sinks")
@click.option("--smtp-port", type=PORT, default=demo_channels.SMTP_PORT, show_default=True)
@click.option("--twilio-port", type=PORT, default=demo_channels.TWILIO_PORT, show_default=True)
@click.option("--webhook-port", type=PORT, default=demo_channels.WEBHOOK_PORT, show_default=True)
@DIRECTORY
@with_appcontext
def sinks(smtp_port: int, twilio_port: int, webhook_port: int, directory: Path | None) -> None:
    """Receive the demo's outgoing mail (SMTP), texts (as Twilio's API) and webhooks on
    127.0.0.1."""
    directory = _outbox(directory)
    host = demo_channels.HOST
    with (
        stop_on_signals() as stop,
        demo_channels.mail_sink(directory, smtp_port),
        demo_channels.text_sink(directory, twilio_port),
        demo_channels.webhook_sink(directory, webhook_port),
    ):
        click.echo(
            f"Mail sink on {host}:{smtp_port}, Twilio stand-in on http://{host}:{twilio_port}, "
            f"webhook receiver on {demo_channels.webhook_url(webhook_port)}"
        )
        click.echo(f"Keeping what the demo sends in {directory}")
        stop.wait()


@command.command("outbox")
@click.option("--limit", type=click.IntRange(min=1), default=5, show_default=True)
@DIRECTORY
@with_appcontext
def outbox(limit: int, directory: Path | None) -> None:
    """The latest mails, texts and webhook events the demo sent (to its sinks), newest first."""
    found = demo_channels.sent(_outbox(directory), limit)
    if not found:
        click.echo("Nothing sent yet: change or reply to a ticket while `make demo` runs.")
    for item in found:
        click.echo(f"{item.date}  {item.path}")
        click.echo(f"  From: {item.sender}\n  To: {item.to}")
        if item.subject is not None:
            click.echo(f"  Subject: {item.subject}")
        lines = [line for line in item.text.splitlines() if line.strip()][:4]
        click.echo(textwrap.indent("\n".join(lines), "  | ") + "\n")


@command.command("shop")
@click.option("--port", type=PORT, default=demo_channels.SHOP_PORT, show_default=True)
@with_appcontext
def shop(port: int) -> None:
    """Serve a sample shop website with the chat widget on 127.0.0.1."""
    site = demo_channels.demo_site()
    if site is None:
        raise click.ClickException("the demo chat site is not set up: run `helpdesk demo` first")
    snippet = sites.embed_snippet(site, current_app.config["HELPDESK_PUBLIC_URL"])
    server = make_server(demo_channels.HOST, port, demo_channels.shop_app(snippet), threaded=True)
    click.echo(f"Shop page on http://{demo_channels.HOST}:{port}/")
    with stop_on_signals() as stop:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stop.wait()
        server.shutdown()


@command.command("email")
@click.option("--from", "sender", required=True, help="The customer's address.")
@click.option("--name", help="The customer's name.")
@click.option("--subject", required=True, help="Put [#N] in it to answer ticket N.")
@click.option("--text", required=True)
@click.option(
    "--to",
    default=demo.MAILBOX,
    show_default=True,
    help=f"The address written to, e.g. sales@{demo.DOMAIN} (an alias with its own stage).",
)
@with_appcontext
def email(sender: str, name: str | None, subject: str, text: str, to: str) -> None:
    """Hand the demo mailbox a customer's email; it is taken in as a fetched mail is."""
    try:
        logged = demo_channels.hand_in_email(sender, subject, text, name=name, to=to)
    except LookupError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    if logged.message is None:
        click.echo(f"Mail {logged.outcome.value}: {logged.reason}")
        sys.exit(1 if logged.outcome == IntakeOutcome.QUARANTINED else 0)
    ticket = logged.message.ticket
    click.echo(f"Mail {logged.outcome.value} on ticket #{ticket.number}: {ticket.subject}")


@command.command("text")
@click.option("--from", "sender", required=True, help="The customer's number, e.g. +15550001234.")
@click.option("--text", required=True, help="Start with ORDER, TRACK, CLUB or CALL for a stage.")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=10,
    show_default=True,
    help="Seconds to wait for the worker to take it in.",
)
@with_appcontext
def text(sender: str, text: str, wait: float) -> None:
    """Hand the demo a customer's text through the webhook inbox; the worker takes it in."""
    try:
        sid = demo_channels.hand_in_text(sender, text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--from") from None
    click.echo(f"Text {sid} stored in the webhook inbox, as Twilio's webhook stores it.")
    deadline = time.monotonic() + wait
    while True:
        intake = demo_channels.text_intake(sid)
        db.session.rollback()  # end the read, so the next one sees the worker's commit
        if intake.taken or intake.error or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    if intake.ticket_number is not None:
        click.echo(f"The worker took it in on ticket #{intake.ticket_number}.")
    elif intake.error:
        raise click.ClickException(f"the worker could not take it in: {intake.error}")
    else:
        click.echo("The worker takes it in when it runs (`make demo` starts one).")
