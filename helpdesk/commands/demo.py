"""``helpdesk demo``: load realistic demo data once and print the logins."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from helpdesk import demo
from helpdesk.extensions import db
from helpdesk.models import Customer, Ticket, User
from helpdesk.tickets import sla


@click.command("demo")
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
@with_appcontext
def command(tickets: int, customers: int) -> None:
    """Load two months of demo requests on every channel (idempotent); print the logins."""
    added = demo.load(tickets=tickets, customers=customers)
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
