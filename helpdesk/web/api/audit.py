"""GET /api/v1/audit: the audit trail of admin actions and API writes, for admins."""

from __future__ import annotations

from flask import current_app, request

from helpdesk import audit_trail
from helpdesk.models import TokenScope
from helpdesk.web.api import bp
from helpdesk.web.api.audit_schemas import AuditPage, AuditQuery
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.openapi import operation


@bp.get("/audit")
@operation(
    "listAuditEvents",
    (200, AuditPage, "One page of the audit trail."),
    (401, 403),
    query=AuditQuery,
    scope=TokenScope.ADMIN,
)
def list_audit_events() -> AuditPage:
    """Admin actions and API writes, newest first, paginated by cursor (admins)

    Filters combine: who (`actor`), what (`action`, exact or up to a dot), about what
    (`target_type`, `target_id`) and when (`from`, `to`, whole days in `HELPDESK_TIMEZONE`).
    """
    require_role(ADMINS, "the audit trail is for admins")
    query: AuditQuery = request.context.query
    filters = audit_trail.AuditFilter(
        actor=query.actor,
        action=query.action,
        target_type=query.target_type,
        target_id=query.target_id,
        date_from=query.from_,
        date_to=query.to,
        timezone=current_app.config["HELPDESK_TIMEZONE"],
    )
    page = audit_trail.events(filters, query.limit, query.cursor)
    return AuditPage.model_validate(page, from_attributes=True)
