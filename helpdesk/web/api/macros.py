"""API views of macros: list, read, write and apply them, by the same rules as the macro pages.

An agent keeps their own macros; shared ones are kept by admins. Another agent's macro is not
found (404); a shared one is read by everyone and changed by admins only (403 else).
"""

from __future__ import annotations

from flask import request

from helpdesk.extensions import db
from helpdesk.models import Macro, Role, StageSource, TokenScope, User
from helpdesk.tickets import service
from helpdesk.web.api import bp, macro_schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError, referenced
from helpdesk.web.api.openapi import operation
from helpdesk.web.api.ticket_answers import ETAG, Headers, ticket_or_404, with_etag

SHARED_BY_ADMINS = "shared macros are for admins to write"


@bp.get("/macros")
@operation("listMacros", (200, macro_schemas.MacroPage, "The macros the token's user may apply."))
def list_macros() -> macro_schemas.MacroPage:
    """The shared macros and the token user's own, by name, with how often each was used"""
    return macro_schemas.MacroPage(items=service.visible_macros(api_user()))


@bp.get("/macros/<int:macro_id>")
@operation("getMacro", (200, macro_schemas.Macro, "The macro."), (401, 404))
def get_macro(macro_id: int) -> macro_schemas.Macro:
    """One macro: a shared one or the token user's own (another agent's is not found)"""
    return macro_schemas.Macro.model_validate(_visible(macro_id))


@bp.post("/macros")
@operation(
    "createMacro",
    (201, macro_schemas.Macro, "The new macro."),
    (401, 403, 422),
    json=macro_schemas.NewMacro,
    scope=TokenScope.ADMIN,
)
def create_macro() -> tuple[macro_schemas.Macro, int]:
    """Save a macro, the token user's own or (admins) shared

    A placeholder the macro text may not use, an unknown status, priority or stage, or an
    inactive assignee is refused with 422 `invalid_input` naming it.
    """
    body: macro_schemas.NewMacro = request.context.json
    user = api_user()
    if body.shared and user.role != Role.ADMIN:
        raise ApiError(403, "forbidden", SHARED_BY_ADMINS)
    fields = service.MacroFields(
        name=body.name,
        text=body.text,
        status=body.status,
        priority=body.priority,
        stage=body.stage,
        assignee=referenced(User, body.assignee, "user"),
        tags=tuple(body.tags),
    )
    macro = service.create_macro(None if body.shared else user, fields)
    db.session.commit()
    return macro_schemas.Macro.model_validate(macro), 201


@bp.patch("/macros/<int:macro_id>")
@operation(
    "updateMacro",
    (200, macro_schemas.Macro, "The macro as changed."),
    (401, 403, 404, 422),
    json=macro_schemas.MacroChanges,
    scope=TokenScope.ADMIN,
)
def update_macro(macro_id: int) -> macro_schemas.Macro:
    """Change a macro's name, text or actions; its use count stays

    Only the fields sent change. A shared macro is changed by admins only (403 `forbidden`);
    the checks of a new macro apply (422 `invalid_input` naming the field at fault).
    """
    macro = _writable(macro_id)
    body: macro_schemas.MacroChanges = request.context.json
    sent = body.model_fields_set

    def kept(name: str, current: object) -> object:
        return getattr(body, name) if name in sent else current

    fields = service.MacroFields(
        name=kept("name", macro.name),
        text=kept("text", macro.text),
        status=kept("status", macro.status),
        priority=kept("priority", macro.priority),
        stage=kept("stage", macro.stage),
        assignee=(
            referenced(User, body.assignee, "user") if "assignee" in sent else macro.assignee
        ),
        tags=tuple(kept("tags", macro.tags)),
    )
    service.update_macro(macro, fields)
    db.session.commit()
    return macro_schemas.Macro.model_validate(macro)


@bp.delete("/macros/<int:macro_id>")
@operation(
    "deleteMacro",
    (204, None, "Deleted; tickets it was applied to keep their changes."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def delete_macro(macro_id: int) -> tuple[str, int]:
    """Delete a macro: the token user's own, or (admins) a shared one"""
    service.delete_macro(_writable(macro_id))
    db.session.commit()
    return "", 204


@bp.post("/tickets/<int:ticket_id>/macros/<int:macro_id>")
@operation(
    "applyMacro",
    (200, macro_schemas.AppliedMacro, "The filled-in text, the reply if sent, and the ticket."),
    (401, 404, 422),
    json=macro_schemas.MacroUse,
    optional_body=True,
    response_headers=ETAG,
)
def apply_macro(ticket_id: int, macro_id: int) -> tuple[macro_schemas.AppliedMacro, Headers]:
    """Apply a macro to a ticket: make its changes and answer its text filled in

    The changes apply whatever happened on the ticket meanwhile, each audited, as a `PATCH`
    without `If-Match`; a stage set here gets `stage_source` `api`. With `"send": true` the
    text is also queued as a reply (422 when it is empty or cannot go out; then nothing is
    changed).
    """
    ticket = ticket_or_404(ticket_id)
    user = api_user()
    macro = _visible(macro_id)
    body: macro_schemas.MacroUse = request.context.json
    text = service.apply_macro(macro, ticket, user, source=StageSource.API)
    message = service.reply(ticket, user, text) if body.send else None
    db.session.commit()
    shown, headers = with_etag(ticket)
    return macro_schemas.AppliedMacro(text=text, message=message, ticket=shown), headers


def _visible(macro_id: int) -> Macro:
    macro = service.visible_macro(api_user(), macro_id)
    if macro is None:
        raise ApiError(404, "not_found", f"no macro with id {macro_id}")
    return macro


def _writable(macro_id: int) -> Macro:
    """The macro when the token's user may change it: their own, or a shared one for admins."""
    macro = _visible(macro_id)
    if macro.shared and api_user().role != Role.ADMIN:
        raise ApiError(403, "forbidden", SHARED_BY_ADMINS)
    return macro
