"""``helpdesk teams``: teams of agents and how each hands out its tickets."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from helpdesk import accounts, teams
from helpdesk.extensions import db
from helpdesk.models import AssignmentMode


@click.group("teams")
def command() -> None:
    """Create teams and put agents in them."""


@command.command("create")
@click.argument("name")
@click.option(
    "--assignment",
    type=click.Choice([mode.value for mode in AssignmentMode]),
    default=AssignmentMode.OFF.value,
    show_default=True,
    help="How the team's tickets get an agent.",
)
@click.option("--capacity", type=int, default=10, show_default=True, help="Tickets per agent.")
@click.option(
    "--return-unanswered-when-away",
    is_flag=True,
    help="A member going away returns their tickets without an agent reply to the team.",
)
@with_appcontext
def create(name: str, assignment: str, capacity: int, return_unanswered_when_away: bool) -> None:
    """Create a team called NAME, with nobody in it yet."""
    try:
        team = teams.create_team(
            name,
            assignment=assignment,
            capacity=capacity,
            return_unanswered_when_away=return_unanswered_when_away,
        )
    except teams.TeamError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created team {team.name} ({team.assignment}, {team.capacity} per agent)")


@command.command("add-member")
@click.argument("team_name")
@click.argument("emails", nargs=-1, required=True)
@with_appcontext
def add_member(team_name: str, emails: tuple[str, ...]) -> None:
    """Put the users with these EMAILS in the team TEAM_NAME (they stay in their other teams)."""
    team = teams.team_by_name(team_name)
    if team is None:
        raise click.ClickException(f"no team called {team_name}")
    joining = []
    for email in emails:
        user = accounts.user_by_email(email)
        if user is None:
            raise click.ClickException(f"no user with email {email}")
        joining.append(user)
    try:
        teams.set_members(team, [*team.members, *joining])
    except teams.TeamError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"{team.name}: {', '.join(user.email for user in team.members)}")
