"""``helpdesk routing``: the ordered rules that give each new ticket its team and priority."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from channels.base import Channel
from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Priority, RoutingRule, Stage, utcnow
from helpdesk.tickets import routing_rules
from helpdesk.tickets.routing import ordered_rules, outcome
from helpdesk.tickets.routing_rules import InvalidRule

STAGES = click.Choice([stage.value for stage in Stage])
PRIORITIES = click.Choice([priority.value for priority in Priority])


@click.group("routing")
def command() -> None:
    """List, add and remove routing rules."""


def _describe(rule: RoutingRule) -> str:
    conditions = " ".join(f"{name}={value}" for name, value in rule.conditions().items())
    conditions = (conditions or "(always)") + ("" if rule.active else " (off)")
    return f"{rule.position:>4}  {rule.name:<28} -> {outcome(rule):<20} {conditions}"


@command.command("list")
@with_appcontext
def list_rules() -> None:
    """Rules in the order they are tried; the first match routes."""
    rules = ordered_rules()
    if not rules:
        click.echo("No routing rules yet; new tickets arrive without a team, at normal priority.")
    usage = routing_rules.rule_usage(utcnow())
    for rule in rules:
        used = usage.get(rule.name, routing_rules.RuleUsage())
        days = routing_rules.RECENT_DAYS
        click.echo(f"{_describe(rule)}  [routed {used.routed}, {used.recent} in {days} days]")


@command.command("add")
@click.argument("name")
@click.option("--team", "team_name", help="The team a matching ticket goes to.")
@click.option("--priority", type=PRIORITIES, help="The priority a matching ticket gets.")
@click.option("--channel", type=click.Choice([channel.value for channel in Channel]))
@click.option("--endpoint", help="Mailbox address, SMS number or chat site key it arrived at.")
@click.option("--intake-stage", type=STAGES, help="The stage it was given at intake.")
@click.option("--stage", type=STAGES, help="Its stage now (after any correction).")
@click.option("--tag", help="A tag it carries (counts when routing runs again).")
@click.option("--if-priority", "if_priority", type=PRIORITIES, help="A priority a person set.")
@click.option("--subject", "subject_words", help="Words or phrases, comma-separated; any will do.")
@click.option("--position", type=int, help="Where to insert it (default: last).")
@with_appcontext
def add_rule(
    name: str,
    team_name: str | None,
    priority: str | None,
    if_priority: str | None,
    position: int | None,
    **conditions: str | None,
) -> None:
    """Add rule NAME; every condition given must hold for it to route."""
    team = None
    if team_name:
        team = teams.team_by_name(team_name)
        if team is None:
            raise click.BadParameter(f"no team called {team_name}", param_hint="--team")
    try:
        rule = routing_rules.add_rule(
            name,
            {**conditions, "priority": if_priority},
            team=team,
            priority=priority,
            position=position,
        )
    except InvalidRule as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    click.echo(f"Added {_describe(rule).strip()}")


@command.command("remove")
@click.argument("name")
@with_appcontext
def remove_rule(name: str) -> None:
    """Remove rule NAME; tickets it routed stay where they are."""
    rule = routing_rules.rule_named(name)
    if rule is None:
        raise click.ClickException(f"no routing rule named {name}")
    routing_rules.remove_rule(rule)
    db.session.commit()
    click.echo(f"Removed routing rule {name}")
