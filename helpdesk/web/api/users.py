"""API views of the people who work in the helpdesk: anyone reads them, admins change them.

The same rules as the admin pages apply, from the same services (``helpdesk.accounts`` and
``helpdesk.teams``): nobody locks the last admin out or deactivates themselves.
"""

from __future__ import annotations

from flask import request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk import accounts, teams
from helpdesk.chat.presence import is_online
from helpdesk.extensions import db
from helpdesk.models import Team, TokenScope, User, utcnow
from helpdesk.web.api import bp, user_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import field_refusal, found, found_all
from helpdesk.web.api.openapi import operation


@bp.get("/users")
@operation("listUsers", (200, user_schemas.UserPage, "Everyone, deactivated users too."))
def list_users() -> user_schemas.UserPage:
    """Everyone who works in the helpdesk, active first, by name, with their teams

    Agents need the ids for `assignee`; `online` says who automatic assignment would pick.
    """
    everyone = db.session.scalars(
        select(User).options(selectinload(User.teams)).order_by(User.active.desc(), User.name)
    )
    return user_schemas.UserPage(items=[_detail(user) for user in everyone])


@bp.get("/users/<int:user_id>")
@operation("getUser", (200, user_schemas.UserDetail, "The user."), (401, 404))
def get_user(user_id: int) -> user_schemas.UserDetail:
    """One user, with their role, presence and teams"""
    return _detail(found(User, user_id, "user"))


@bp.post("/users")
@operation(
    "createUser",
    (201, user_schemas.UserDetail, "The new user (the password is never answered)."),
    (401, 403),
    json=user_schemas.NewUser,
    scope=TokenScope.ADMIN,
)
def create_user() -> tuple[user_schemas.UserDetail, int]:
    """Add a user who logs in with an email and password (admins); audited

    An email another user has, or a password shorter than the rules allow, answers 400
    `invalid` naming the field.
    """
    _admin()
    body: user_schemas.NewUser = request.context.json
    try:
        user = accounts.create_user(body.email, body.password, body.role, body.name)
    except accounts.AccountError as refused:
        raise field_refusal(refused.field or "body", refused) from None
    db.session.commit()
    return _detail(user), 201


@bp.patch("/users/<int:user_id>")
@operation(
    "updateUser",
    (200, user_schemas.UserDetail, "The user as changed."),
    (401, 403, 404),
    json=user_schemas.UserChanges,
    scope=TokenScope.ADMIN,
)
def update_user(user_id: int) -> user_schemas.UserDetail:
    """Change a user's name, role, active flag, password or teams (admins); audited

    Only the fields sent are written, all or nothing. The admin pages' rules hold: the last
    active admin keeps the role and stays active, and nobody deactivates themselves (400
    `invalid` naming `role` or `active`).
    """
    actor = _admin()
    user = found(User, user_id, "user")
    body: user_schemas.UserChanges = request.context.json
    sent = body.model_fields_set
    chosen = found_all(Team, body.teams, "team", "teams") if "teams" in sent else None
    try:
        accounts.update_user(
            user,
            name=body.name if "name" in sent else user.name,
            role=body.role if "role" in sent else user.role,
            active=body.active if "active" in sent else user.active,
            actor=actor,
        )
        if "password" in sent:
            accounts.reset_password(user, body.password)
        if chosen is not None:
            teams.set_teams_of(user, chosen)
    except (accounts.AccountError, teams.TeamError) as refused:
        raise field_refusal(refused.field or "body", refused) from None
    db.session.commit()
    return _detail(user)


def _admin() -> User:
    return require_role(ADMINS, "users are for admins to change")


def _detail(user: User) -> user_schemas.UserDetail:
    return user_schemas.UserDetail(
        id=user.id,
        name=user.name,
        email=user.email,
        role=user.role,
        active=user.active,
        available=user.available,
        online=is_online(user, utcnow()),
        team_ids=[team.id for team in user.teams],
        created_at=user.created_at,
    )
