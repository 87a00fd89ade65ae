"""API views of teams: anyone reads them, admins make and change them.

The same service as the admin pages (``helpdesk.teams``) decides; a team cannot be removed
there, so there is no DELETE here either.
"""

from __future__ import annotations

from flask import request

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import Team, TokenScope, User
from helpdesk.web.api import bp, schemas, team_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import field_refusal, found, found_all
from helpdesk.web.api.openapi import operation


@bp.get("/teams")
@operation("listTeams", (200, schemas.TeamPage, "Every team."))
def list_teams() -> schemas.TeamPage:
    """The teams, by name, with their members and how each assigns its tickets"""
    return schemas.TeamPage(items=teams.all_teams())


@bp.get("/teams/<int:team_id>")
@operation("getTeam", (200, schemas.Team, "The team."), (401, 404))
def get_team(team_id: int) -> schemas.Team:
    """One team with its members and how it assigns its tickets"""
    return schemas.Team.model_validate(found(Team, team_id, "team"))


@bp.post("/teams")
@operation(
    "createTeam",
    (201, schemas.Team, "The new team."),
    (401, 403),
    json=team_schemas.NewTeam,
    scope=TokenScope.ADMIN,
)
def create_team() -> tuple[schemas.Team, int]:
    """Make a team (admins); audited

    A name another team has (whatever the case), a capacity out of range or a deactivated
    member answers 400 `invalid` naming the field.
    """
    _admin()
    body: team_schemas.NewTeam = request.context.json
    members = _users(body.members)
    try:
        team = teams.create_team(
            body.name,
            assignment=body.assignment,
            capacity=body.capacity,
            return_unanswered_when_away=body.return_unanswered_when_away,
        )
        teams.set_members(team, members)
    except teams.TeamError as refused:
        raise field_refusal(refused.field, refused) from None
    db.session.commit()
    return schemas.Team.model_validate(team), 201


@bp.patch("/teams/<int:team_id>")
@operation(
    "updateTeam",
    (200, schemas.Team, "The team as changed."),
    (401, 403, 404),
    json=team_schemas.TeamChanges,
    scope=TokenScope.ADMIN,
)
def update_team(team_id: int) -> schemas.Team:
    """Rename a team, change how it assigns, or set its members (admins); audited

    Only the fields sent are written, all or nothing. Tickets of an agent who leaves the team
    stay assigned to them.
    """
    _admin()
    team = found(Team, team_id, "team")
    body: team_schemas.TeamChanges = request.context.json
    sent = body.model_fields_set
    members = _users(body.members) if "members" in sent else None
    try:
        teams.update_team(
            team,
            name=body.name if "name" in sent else team.name,
            assignment=body.assignment if "assignment" in sent else team.assignment,
            capacity=body.capacity if "capacity" in sent else team.capacity,
            return_unanswered_when_away=body.return_unanswered_when_away
            if "return_unanswered_when_away" in sent
            else team.return_unanswered_when_away,
        )
        if members is not None:
            teams.set_members(team, members)
    except teams.TeamError as refused:
        raise field_refusal(refused.field, refused) from None
    db.session.commit()
    return schemas.Team.model_validate(team)


def _admin() -> None:
    require_role(ADMINS, "teams are for admins to change")


def _users(user_ids: list[int]) -> list[User]:
    return found_all(User, user_ids, "user", "members")
