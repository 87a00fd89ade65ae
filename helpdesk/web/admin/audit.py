"""The admin page of the audit trail: who changed what, when, from what to what."""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from sqlalchemy import select

from helpdesk import audit_trail
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, User
from helpdesk.tickets.queries import DEFAULT_LIMIT, InvalidFilter, Page
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.audit_forms import AuditFilterForm

# The page each kind of target is seen on, and the name of its id in that page's URL.
TARGET_PAGES = {
    "ticket": ("agent.ticket", "ticket_id"),
    "customer": ("agent.customer", "customer_id"),
    "user": ("admin.edit_user", "user_id"),
    "team": ("admin.edit_team", "team_id"),
    "macro": ("admin.macro", "macro_id"),
    "stage_rule": ("admin.edit_stage_rule", "rule_id"),
    "routing_rule": ("admin.edit_routing_rule", "routing_rule_id"),
}


@bp.get("/audit")
@admin_required
def audit_page() -> tuple[str, int]:
    form = AuditFilterForm(formdata=request.args)
    form.offer_actors(list(db.session.scalars(select(User).order_by(User.name))))
    page: Page[AuditEvent] = Page([], None)
    cursor_error = None
    if form.validate():
        timezone = current_app.config["HELPDESK_TIMEZONE"]
        try:
            page = audit_trail.events(
                form.audit_filter(timezone), DEFAULT_LIMIT, request.args.get("cursor")
            )
        except InvalidFilter as invalid:
            cursor_error = str(invalid)
    shown = render_template(
        "admin/audit.html",
        form=form,
        page=page,
        cursor_error=cursor_error,
        changes=audit_trail.changes,
        target_url=target_url,
    )
    return shown, 400 if form.errors or cursor_error else 200


def target_url(event: AuditEvent) -> str | None:
    """The page of what the event is about, when it has one."""
    page = TARGET_PAGES.get(event.target_type)
    if page is None or not (event.target_id or "").isdigit():
        return None
    endpoint, argument = page
    return url_for(endpoint, **{argument: int(event.target_id)})
