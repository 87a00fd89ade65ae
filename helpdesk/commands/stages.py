"""``helpdesk stages``: the ordered rules that tag each new request with its journey stage."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage, StageRule
from helpdesk.stage_model import store, training
from helpdesk.stage_model.training import HoldoutTooSmall
from helpdesk.tickets import endpoints, stage_rules
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.stages import ordered_rules

if TYPE_CHECKING:
    from helpdesk.stage_model.evaluation import Evaluation

STAGES = click.Choice([stage.value for stage in stage_rules.RULE_STAGES])
CHANNELS = click.Choice([channel.value for channel in Channel])


@click.group("stages")
def command() -> None:
    """List, add, remove and try out journey-stage rules; train and evaluate the stage model."""


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


def _minimum() -> int:
    return current_app.config["HELPDESK_STAGE_MODEL_MIN_PER_STAGE"]


def _percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.1f} %"


def _echo_evaluation(evaluation: Evaluation, left_out: dict[Stage, int]) -> None:
    click.echo(
        f"Time-ordered hold-out: trained on the oldest {evaluation.train_size} examples, "
        f"tested on the newest {evaluation.holdout_size}."
    )
    click.echo(f"{'':<34}{'accuracy':>10}{'macro-F1':>10}")
    rows = [("model", evaluation.model), ("rules and defaults (intake)", evaluation.baseline)]
    if evaluation.fallback_model and evaluation.fallback_baseline:
        label = f"no rule or choice ({evaluation.fallback_size})"
        rows += [
            (f"  model, {label}", evaluation.fallback_model),
            (f"  baseline, {label}", evaluation.fallback_baseline),
        ]
    for name, scores in rows:
        click.echo(f"{name:<34}{_percent(scores.accuracy):>10}{_percent(scores.macro_f1):>10}")
    click.echo("")
    click.echo(f"{'stage':<14}{'precision':>10}{'recall':>10}{'tickets':>9}")
    for stage, figures in evaluation.per_stage.items():
        click.echo(
            f"{stage.value:<14}{_percent(figures.precision):>10}"
            f"{_percent(figures.recall):>10}{figures.support:>9}"
        )
    click.echo("")
    click.echo("Confusion (rows: stage people gave; columns: the model's)")
    short = [stage.value[:6] for stage in evaluation.labels]
    click.echo(f"{'':<14}" + "".join(f"{name:>8}" for name in short))
    for stage, row in zip(evaluation.labels, evaluation.confusion, strict=True):
        click.echo(f"{stage.value:<14}" + "".join(f"{n:>8}" for n in row))
    if left_out:
        listed = ", ".join(f"{stage.value} ({n})" for stage, n in left_out.items())
        click.echo(f"\nLeft out, fewer than {_minimum()} examples: {listed}")


@command.command("evaluate")
@with_appcontext
def evaluate_model() -> None:
    """Measure a model on a time-ordered hold-out against the rules and defaults; nothing is
    stored."""
    # Imported here: scikit-learn takes seconds to load, which every other command would pay.
    from helpdesk.stage_model.evaluation import evaluate

    try:
        kept, left_out = training.trainable(training.examples(), _minimum())
        evaluation = evaluate(kept)
    except (training.NotEnoughExamples, HoldoutTooSmall) as refused:
        raise click.ClickException(f"No model: {refused}") from None
    _echo_evaluation(evaluation, left_out)
    in_use = store.promoted_model()
    if in_use is not None:
        click.echo(
            f"\nIn use: version {in_use.id} ({in_use.examples} examples), hold-out accuracy "
            f"{_percent(in_use.accuracy)}, macro-F1 {_percent(in_use.macro_f1)}"
        )


@command.command("train")
@with_appcontext
def train_model() -> None:
    """Train, measure and store a model now; it is promoted unless it scores worse than the
    model in use."""
    try:
        trained = store.train_now()
    except (training.NotEnoughExamples, HoldoutTooSmall) as refused:
        raise click.ClickException(f"No model: {refused}") from None
    db.session.commit()
    _echo_evaluation(trained.evaluation, trained.left_out)
    click.echo(
        f"\nVersion {trained.model.id}, {trained.model.examples} examples: {trained.model.verdict}"
    )
