"""API views of the service targets per journey stage: anyone reads them, admins set them,
through the same service as the admin page (``helpdesk.tickets.sla``)."""

from __future__ import annotations

from flask import current_app, request

from helpdesk.extensions import db
from helpdesk.models import Stage, StageSla, TokenScope
from helpdesk.tickets import sla
from helpdesk.web.api import bp, service_target_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import ApiError
from helpdesk.web.api.openapi import operation


@bp.get("/service-targets")
@operation(
    "listServiceTargets",
    (200, service_target_schemas.ServiceTargets, "Every stage's targets."),
)
def list_service_targets() -> service_target_schemas.ServiceTargets:
    """The first-response and resolution targets of every journey stage, in business minutes"""
    targets = sla.targets()
    return service_target_schemas.ServiceTargets(
        items=[_target(stage, targets.get(stage)) for stage in Stage],
        business_hours=current_app.config["HELPDESK_BUSINESS_HOURS"] or None,
        timezone=current_app.config["HELPDESK_TIMEZONE"],
    )


@bp.put("/service-targets/<stage>")
@operation(
    "setServiceTarget",
    (200, service_target_schemas.ServiceTarget, "The stage's targets from now on."),
    (401, 403, 404),
    json=service_target_schemas.TargetChanges,
    scope=TokenScope.ADMIN,
)
def set_service_target(stage: str) -> service_target_schemas.ServiceTarget:
    """Set one stage's targets (admins); audited

    New tickets, and tickets whose stage is corrected, get their deadlines from them; tickets
    already open keep theirs. An unknown stage answers 404.
    """
    require_role(ADMINS, "service targets are for admins to set")
    body: service_target_schemas.TargetChanges = request.context.json
    try:
        chosen = Stage(stage)
    except ValueError:
        stages = ", ".join(each.value for each in Stage)
        raise ApiError(404, "not_found", f"no stage {stage!r}; stages: {stages}") from None
    target = sla.set_target(chosen, body.first_response_minutes, body.resolution_minutes)
    db.session.commit()
    return _target(chosen, target)


def _target(stage: Stage, target: StageSla | None) -> service_target_schemas.ServiceTarget:
    return service_target_schemas.ServiceTarget(
        stage=stage,
        first_response_minutes=target.first_response_minutes if target else None,
        resolution_minutes=target.resolution_minutes if target else None,
    )
