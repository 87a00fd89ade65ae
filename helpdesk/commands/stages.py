"""``helpdesk stages``: the ordered rules that tag each new request with its journey stage."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage, StageRule
from helpdesk.tickets import endpoints, stage_rules
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.stages import ordered_rules

STAGES = click.Choice([stage.value for stage in stage_rules.RULE_STAGES])
CHANNELS = click.Choice([channel.value for channel in Channel])


@click.group("stages")
def command() -> None:
    """List, add, remove and try out journey-stage rules."""


def _describe(rule: StageRule) -> str:
    conditions = " ".join(f"{name}={value}" for name, value in rule.conditions().items())
    state = "" if rule.enabled else " (disabled)"
    conditions = conditions or "(always)"
    return f"{rule.position:>4}  {rule.name:<28} {rule.stage.value:<12} {conditions}{state}"


@command.command("list")
@with_appcontext
def list_rules() -> None:
    """Rules in the order they are tried; the first match decides."""
    rules = ordered_rules()
    if not rules:
        click.echo("No stage rules yet; every request falls back to its endpoint's default stage.")
    usage = stage_rules.rule_usage()
    for rule in rules:
        used = usage.get(rule.name, stage_rules.RuleUsage())
        click.echo(f"{_describe(rule)}  [decided {used.decided}, corrected {used.corrected}]")
    for endpoint in db.session.scalars(select(Endpoint).where(Endpoint.default_stage.is_not(None))):
        click.echo(
            f"default  {endpoint.channel.value} {endpoint.address} -> {endpoint.default_stage}"
        )


@command.command("add")
@click.argument("name")
@click.option("--stage", type=STAGES, required=True, help="The stage a matching request gets.")
@click.option("--channel", type=CHANNELS)
@click.option("--endpoint", help="Mailbox address, SMS number or chat site key it arrived at.")
@click.option("--recipient", help="The address or alias the customer wrote to.")
@click.option("--first-word", help="SMS keyword: the message's first word (any case).")
@click.option("--url", "url_pattern", help="Chat page URL pattern, e.g. '/pricing*'.")
@click.option("--utm-source")
@click.option("--utm-medium")
@click.option("--utm-campaign")
@click.option("--keyword", help="A word or phrase in the subject or text.")
@click.option("--position", type=int, help="Where to insert it (default: last).")
@with_appcontext
def add_rule(name: str, stage: str, position: int | None, **conditions: str | None) -> None:
    """Add rule NAME; every condition given must match for it to apply."""
    try:
        rule = stage_rules.add_rule(name, stage, conditions, position=position)
    except TicketError as refused:
        raise click.ClickException(str(refused)) from None
    db.session.commit()
    click.echo(f"Added {_describe(rule).strip()}")


@command.command("remove")
@click.argument("name")
@with_appcontext
def remove_rule(name: str) -> None:
    """Remove rule NAME; tickets it tagged keep their stage and intake rule."""
    rule = stage_rules.rule_named(name)
    if rule is None:
        raise click.ClickException(f"no rule named {name}")
    stage_rules.remove_rule(rule)
    db.session.commit()
    click.echo(f"Removed rule {name}")


@command.command("default")
@click.argument("channel", type=CHANNELS)
@click.argument("address")
@click.argument("stage", type=click.Choice([stage.value for stage in Stage]))
@with_appcontext
def set_endpoint_default(channel: str, address: str, stage: str) -> None:
    """Give an endpoint a default stage, used when no rule matches ('unknown' clears it)."""
    try:
        endpoint = endpoints.endpoint_for(Channel(channel), address)
    except TicketError as error:
        raise click.BadParameter(str(error), param_hint="ADDRESS") from None
    stage_rules.set_endpoint_default(endpoint, stage)
    db.session.commit()
    click.echo(f"{channel} {endpoint.address} defaults to {stage}")


@command.command("test")
@click.option("--channel", type=CHANNELS, default=Channel.EMAIL.value, show_default=True)
@click.option("--endpoint", default="support@example.test", show_default=True)
@click.option("--recipient", help="Address the customer wrote to (default: the endpoint).")
@click.option("--subject", default="")
@click.option("--text", default="")
@click.option("--url", "page_url", help="Chat page URL.")
@click.option("--utm-source")
@click.option("--utm-medium")
@click.option("--utm-campaign")
@click.option("--choice", type=STAGES, help="The customer's pre-chat choice.")
@with_appcontext
def test_rules(
    channel: str,
    endpoint: str,
    recipient: str | None,
    subject: str,
    text: str,
    page_url: str | None,
    utm_source: str | None,
    utm_medium: str | None,
    utm_campaign: str | None,
    choice: str | None,
) -> None:
    """Show which stage a request like this would get, and why (nothing is stored)."""
    try:
        trial = stage_rules.try_sample(
            stage_rules.sample_message(
                channel,
                endpoint,
                recipient=recipient,
                subject=subject,
                text=text,
                page_url=page_url,
                utm_source=utm_source,
                utm_medium=utm_medium,
                utm_campaign=utm_campaign,
                choice=choice,
            )
        )
    except TicketError as error:
        raise click.BadParameter(str(error), param_hint="--endpoint") from None
    decision = trial.decision
    click.echo(f"stage:  {decision.stage.value}")
    click.echo(f"source: {decision.source.value}")
    click.echo(f"rule:   {decision.rule or '-'}")
    click.echo(f"reason: {decision.reason}")
    for step in trial.steps:
        click.echo(f"  tried {step.rule.name}: {step.summary}")
