"""The audit trail: admin actions and API writes, each written in the transaction that made it.

Changes to what admins keep (users, API tokens, stage and routing rules, service targets,
survey settings, channels, macros, teams and their members) and the outreach campaigns managers
send are found by the session itself, whichever path made them (an admin page, the CLI, the
API), with their values before and after; the bookkeeping the system does on its own (last
seen, last fetch, counters, round-robin turns) is left out, and secrets are recorded only as
changed. Every API write is recorded with its token and what it sent. Ticket changes keep their
own events.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context, request
from flask_login import current_user
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from helpdesk.extensions import db
from helpdesk.models import (
    ApiToken,
    AuditEvent,
    Campaign,
    Endpoint,
    Macro,
    Mailbox,
    RoutingRule,
    SecurityPolicy,
    StageRule,
    StageSla,
    StageSurvey,
    SurveyPolicy,
    Team,
    TeamMember,
    User,
)

AUDITED = {
    User: "user",
    ApiToken: "token",
    StageRule: "stage_rule",
    RoutingRule: "routing_rule",
    StageSla: "sla_target",
    Endpoint: "endpoint",
    Mailbox: "mailbox",
    Macro: "macro",
    StageSurvey: "stage_survey",
    SurveyPolicy: "survey_policy",
    Team: "team",
    TeamMember: "team_member",
    Campaign: "campaign",
    SecurityPolicy: "security_policy",
}
# What the system keeps up to date by itself (no person changed it), and a person's own
# preferences (being available, the view they land on), which are nobody else's business.
_BOOKKEEPING = frozenset(
    {
        "created_at",
        "last_seen_at",
        "available",
        "stays_away",
        "away_since",
        "last_assigned_at",
        "home_view_id",
        "last_used_at",
        "uidvalidity",
        "last_uid",
        "fetched_count",
        "quarantined_count",
        "last_fetch_at",
        "last_error",
        "last_error_at",
        "lease_owner",
        "lease_until",
        "use_count",
        # Moves with every password change and deactivation, which the trail shows already.
        "session_version",
        "totp_last_step",
    }
)
_SECRETS = frozenset(
    {
        "password_hash",
        "token_hash",
        "totp_secret_encrypted",
        "imap_password_encrypted",
        "smtp_password_encrypted",
    }
)
_SECRET_WORDS = ("secret", "password", "token")
CHANGED = "(changed)"  # what the trail keeps of a secret
_TEXT_LIMIT = 2000
_PENDING = "helpdesk audit pending"


def api_write_begins() -> None:
    """Mark this API request as a write: its commit records it (token, action, what it sent)."""
    g.audit_api_write = request.method not in ("GET", "HEAD", "OPTIONS")


def record(
    action: str,
    target_type: str,
    target_id: int | str | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add one row to the trail for an action the session cannot find by itself (an agent's
    edit of a customer, a merge, an export, an erase), on behalf of whoever made this request."""
    actor, token = _who()
    db.session.add(
        AuditEvent(
            actor_id=actor,
            token_id=token,
            action=action,
            target_type=target_type,
            target_id=None if target_id is None else str(target_id),
            before=before,
            after=after,
        )
    )


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, flush_context: Any, instances: Any) -> None:
    pending = session.info.setdefault(_PENDING, [])
    for obj in session.new:
        if type(obj) in AUDITED:
            pending.append((obj, "created", None, _values(obj)))
    for obj in session.dirty:
        if type(obj) in AUDITED and (changes := _changes(obj)):
            pending.append((obj, "changed", *changes))
    for obj in session.deleted:
        if type(obj) in AUDITED:
            pending.append((obj, "deleted", _values(obj), None))


@event.listens_for(Session, "after_flush_postexec")
def _record_changes(session: Session, flush_context: Any) -> None:
    pending = session.info.pop(_PENDING, [])
    if not pending:
        return
    actor, token = _who()
    for obj, verb, before, after in pending:
        kind = AUDITED[type(obj)]
        session.add(
            AuditEvent(
                actor_id=actor,
                token_id=token,
                action=f"{kind}.{verb}",
                target_type=kind,
                target_id=_identity(obj),
                before=before,
                after=after,
            )
        )


@event.listens_for(Session, "before_commit")
def _record_api_write(session: Session) -> None:
    if not has_request_context() or not g.get("audit_api_write"):
        return
    g.audit_api_write = False
    actor, token = _who()
    target_type, target_id = _target()
    session.add(
        AuditEvent(
            actor_id=actor,
            token_id=token,
            action=request.endpoint or request.path,
            target_type=target_type,
            target_id=target_id,
            after=_sent(),
        )
    )


@event.listens_for(Session, "after_soft_rollback")
def _forget(session: Session, previous_transaction: Any) -> None:
    session.info.pop(_PENDING, None)


def _identity(obj: Any) -> str | None:
    """The row's key as the trail shows it; a composite one (team member) as "team/user"."""
    identity = inspect(obj).identity
    return "/".join(str(part) for part in identity) if identity else None


def _who() -> tuple[int | None, int | None]:
    """The user (and API token) the change is on behalf of; none from the CLI or the worker."""
    if not has_request_context():
        return None, None
    if (user := g.get("api_user")) is not None:
        token = g.get("api_token")
        return user.id, token.id if token is not None else None
    if current_user and current_user.is_authenticated:
        return current_user.id, None
    return None, None


def _values(obj: Any) -> dict[str, Any]:
    state = inspect(obj)
    return {
        prop.key: _shown(prop.key, state.attrs[prop.key].value)
        for prop in state.mapper.column_attrs
        if prop.key not in _BOOKKEEPING
    }


def _changes(obj: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
    state = inspect(obj)
    before, after = {}, {}
    for prop in state.mapper.column_attrs:
        key = prop.key
        if key in _BOOKKEEPING:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[key], after[key] = _shown(key, old), _shown(key, new)
    return (before, after) if after else None


def _shown(key: str, value: Any) -> Any:
    """A value as the trail keeps it: secrets as "(changed)", the rest as JSON takes it."""
    if key in _SECRETS:
        return CHANGED if value else None
    if isinstance(value, dict):
        return _without_secrets(value)
    if isinstance(value, str | int | float | bool | list) or value is None:
        return value
    return str(value)


def _target() -> tuple[str, str | None]:
    """What an API write was about, from its URL: the first id it names."""
    for name, value in (request.view_args or {}).items():
        if name.endswith("_id"):
            return name.removesuffix("_id"), str(value)
    return request.path.rstrip("/").rsplit("/", 1)[-1], None


def _sent() -> dict[str, Any]:
    """What the API write sent: its JSON body, or its form fields and file names."""
    body = request.get_json(silent=True)
    if body is None:
        body = dict(request.form)
        if request.files:
            body["files"] = [f.filename for f in request.files.getlist("files")]
    if not isinstance(body, dict):
        return {"body": body}
    # A password sent to create or change a user never lands on the trail in clear.
    return {
        key: value[:_TEXT_LIMIT] if isinstance(value, str) else value
        for key, value in _without_secrets(body).items()
    }


def _without_secrets(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every password, secret or token given as "(changed)"."""
    return {
        name: CHANGED if any(word in name.lower() for word in _SECRET_WORDS) else item
        for name, item in values.items()
    }
