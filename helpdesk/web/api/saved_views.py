"""API views of saved views: list, read, save, change and delete them, and read a view's
tickets, by the same rules as the queue's views page.

A personal view of another agent is not found (404); a shared one is read by anyone (as a link
to it is) and changed by its owner, or an admin (403 else).
"""

from __future__ import annotations

from typing import Any

from flask import current_app, request

from helpdesk import saved_views
from helpdesk.extensions import db
from helpdesk.models import SavedView, Team, TokenScope
from helpdesk.tickets import queries
from helpdesk.web.api import bp, query_schemas, saved_view_schemas, schemas
from helpdesk.web.api.auth import api_user
from helpdesk.web.api.errors import ApiError, invalid, referenced
from helpdesk.web.api.openapi import operation

ONLY_THE_OWNER = "a view is changed by its owner, and a shared one by an admin too"


@bp.get("/views")
@operation("listViews", (200, saved_view_schemas.SavedViewList, "The views the token's user sees."))
def list_views() -> saved_view_schemas.SavedViewList:
    """The token user's views and those shared with their teams, by name, each counted"""
    user = api_user()
    listed = saved_views.visible_views(user)
    totals = saved_views.view_totals(listed, user, _timezone())
    return saved_view_schemas.SavedViewList(
        items=[saved_view_schemas.SavedView.of(view, totals[view.id]) for view in listed]
    )


@bp.get("/views/<int:view_id>")
@operation("getView", (200, saved_view_schemas.SavedView, "The view."), (401, 404))
def get_view(view_id: int) -> saved_view_schemas.SavedView:
    """One view with its filters and count: the token user's own or a shared one"""
    return _shown(_visible(view_id))


@bp.get("/views/<int:view_id>/tickets")
@operation(
    "listViewTickets",
    (200, schemas.TicketPage, "One page of the view's tickets."),
    (401, 404, 422),
    query=query_schemas.PageQuery,
)
def list_view_tickets(view_id: int) -> schemas.TicketPage:
    """The view's tickets in its sort, paginated by cursor, as `GET /tickets` with its filters

    `assignee=me` and `team=mine` mean the token's user. A view whose stored filters no longer
    make sense is refused with 422 `refused`, saying why: change its filters.
    """
    view = _visible(view_id)
    query: query_schemas.PageQuery = request.context.query
    try:
        filters = saved_views.view_filter(view, api_user(), _timezone())
    except queries.InvalidFilter as broken:
        raise ApiError(422, "refused", f"the view's filters no longer work: {broken}") from None
    sort = queries.parse_sort(saved_views.args_of(view).get("sort"))
    page = queries.ticket_page(filters, query.limit, query.cursor, sort)
    return schemas.TicketPage.model_validate(page, from_attributes=True)


@bp.post("/views")
@operation(
    "createView",
    (201, saved_view_schemas.SavedView, "The new view."),
    (401, 422),
    json=saved_view_schemas.NewView,
    scope=TokenScope.ADMIN,
)
def create_view() -> tuple[saved_view_schemas.SavedView, int]:
    """Save the queue's filters under a name, the token user's own or shared with a team

    A team that is not one of the token user's (any team is fine for an admin), or filters
    `GET /tickets` would refuse, answer 400 `invalid` naming `team` or `filters`.
    """
    body: saved_view_schemas.NewView = request.context.json
    team = referenced(Team, body.team, "team")
    try:
        view = saved_views.create_view(api_user(), body.name, _args(body.filters), team)
    except saved_views.ViewError as refused:
        raise _refusal(refused) from None
    db.session.commit()
    return _shown(view), 201


@bp.patch("/views/<int:view_id>")
@operation(
    "updateView",
    (200, saved_view_schemas.SavedView, "The view as changed."),
    (401, 403, 404),
    json=saved_view_schemas.ViewChanges,
    scope=TokenScope.ADMIN,
)
def update_view(view_id: int) -> saved_view_schemas.SavedView:
    """Rename a view or give it other filters

    Its owner changes a view, and an admin a shared one too (403 `forbidden` else).
    """
    view = _changeable(view_id)
    body: saved_view_schemas.ViewChanges = request.context.json
    sent = body.model_fields_set
    try:
        if "name" in sent:
            saved_views.rename_view(view, body.name)
        if "filters" in sent:
            saved_views.change_view_query(view, _args(body.filters), api_user())
    except saved_views.ViewError as refused:
        raise _refusal(refused) from None
    db.session.commit()
    return _shown(view)


@bp.delete("/views/<int:view_id>")
@operation(
    "deleteView",
    (204, None, "Deleted; whoever landed on it lands on the open work again."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def delete_view(view_id: int) -> tuple[str, int]:
    """Delete a view: its owner, or an admin for a shared one"""
    saved_views.delete_view(_changeable(view_id))
    db.session.commit()
    return "", 204


def _timezone() -> str:
    return current_app.config["HELPDESK_TIMEZONE"]


def _args(filters: saved_view_schemas.ViewFilters | None) -> dict[str, Any]:
    """The filters as the queue's query string holds them."""
    if filters is None:
        return {}
    return filters.model_dump(mode="json", exclude_none=True)


def _refusal(refused: saved_views.ViewError) -> ApiError:
    field = "filters" if refused.field == "query" else refused.field
    return invalid(f"{field}: {refused}", field)


def _shown(view: SavedView) -> saved_view_schemas.SavedView:
    totals = saved_views.view_totals([view], api_user(), _timezone())
    return saved_view_schemas.SavedView.of(view, totals[view.id])


def _visible(view_id: int) -> SavedView:
    view = saved_views.visible_view(api_user(), view_id)
    if view is None:
        raise ApiError(404, "not_found", f"no view with id {view_id}")
    return view


def _changeable(view_id: int) -> SavedView:
    view = _visible(view_id)
    if not saved_views.may_change(api_user(), view):
        raise ApiError(403, "forbidden", ONLY_THE_OWNER)
    return view
