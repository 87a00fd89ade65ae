"""The queue's tools: saved views (save, open, rename, delete, land on) and bulk changes."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from helpdesk import accounts, saved_views, teams
from helpdesk.extensions import db
from helpdesk.models import SavedView
from helpdesk.tickets import bins, bulk, queries, service, trash
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import staff_required
from helpdesk.web.agent import bp
from helpdesk.web.agent.forms import BulkForm, RenameViewForm, SaveViewForm
from helpdesk.web.agent.routes import bulk_macros, render_queue

ONLY_THE_OWNER = "A view is changed by its owner, and a shared one by an admin too."


@bp.post("/views")
@staff_required
def save_view() -> str | Response | tuple[str, int]:
    """ "Save this view": the queue's filters (this URL's query string) under a name."""
    form = SaveViewForm()
    form.offer_teams(teams.all_teams())
    if form.validate_on_submit():
        try:
            view = saved_views.create_view(
                current_user, form.name.data, request.args, form.chosen_team()
            )
        except saved_views.ViewError as refused:
            db.session.rollback()
            # Filters that cannot be saved are said next to the name, where the agent looks.
            form["team" if refused.field == "team" else "name"].errors.append(str(refused))
        else:
            name, view_id = view.name, view.id
            db.session.commit()
            flash(f"View “{name}” saved.", "success")
            return redirect(url_for("agent.open_view", view_id=view_id))
    shown, _status = render_queue(form)
    return shown, 400


@bp.get("/views/<int:view_id>")
@staff_required
def open_view(view_id: int) -> str | Response | tuple[str, int]:
    """The queue as the view shows it; stored filters that no longer make sense are said so,
    never read as "all tickets"."""
    view = _visible_or_404(view_id)
    try:
        saved_views.view_filter(view, current_user, current_app.config["HELPDESK_TIMEZONE"])
    except queries.InvalidFilter as invalid:
        return render_template("agent/views.html", **_views_page(broken=(view, str(invalid)))), 400
    return redirect(url_for("agent.queue", **saved_views.args_of(view), view=view.id))


@bp.get("/views")
@staff_required
def views() -> str:
    """The agent's views and the shared ones: rename, delete, land on one."""
    return render_template("agent/views.html", **_views_page())


@bp.get("/views/counts")
@staff_required
def view_counts() -> Response:
    """Each listed view's count as the navigation shows it, for the queue to refresh."""
    listed = saved_views.visible_views(current_user)
    timezone = current_app.config["HELPDESK_TIMEZONE"]
    return jsonify(saved_views.view_counts(listed, current_user, timezone))


@bp.post("/views/<int:view_id>/rename")
@staff_required
def rename_view(view_id: int) -> str | Response | tuple[str, int]:
    view = _changeable(view_id)
    if view is None:
        return redirect(url_for("agent.views"))
    form = RenameViewForm()
    if form.validate_on_submit():
        try:
            saved_views.rename_view(view, form.name.data)
        except saved_views.ViewError as refused:
            db.session.rollback()
            form.name.errors.append(str(refused))
        else:
            name = view.name
            db.session.commit()
            flash(f"View renamed to “{name}”.", "success")
            return redirect(url_for("agent.views"))
    return render_template("agent/views.html", **_views_page(renaming=(view_id, form))), 400


@bp.post("/views/<int:view_id>/delete")
@staff_required
def delete_view(view_id: int) -> Response:
    view = _changeable(view_id)
    if view is None:
        return redirect(url_for("agent.views"))
    name = view.name
    saved_views.delete_view(view)
    db.session.commit()
    flash(f"View “{name}” deleted.", "success")
    return redirect(url_for("agent.views"))


@bp.post("/views/<int:view_id>/home")
@staff_required
def land_on_view(view_id: int) -> Response:
    """Make the view the agent's landing page ("home=0": back to the open work)."""
    view = _visible_or_404(view_id)
    landing = request.form.get("home") != "0"
    saved_views.set_home(current_user, view if landing else None)
    name = view.name
    db.session.commit()
    if landing:
        flash(f"You land on “{name}” from now on.", "success")
    else:
        flash("You land on the open work from now on.", "success")
    return redirect(url_for("agent.views"))


@bp.post("/tickets/bulk")
@staff_required
def bulk_change() -> str | Response:
    """Change the ticked tickets (or all matching the filter) and show what happened to each."""
    form = BulkForm()
    form.offer(
        accounts.active_users(),
        teams.all_teams(),
        bulk_macros(),
        may_delete=current_user.role in trash.DELETERS,
    )
    back = url_for("agent.queue") + "?" + (form.query.data or "")
    if not form.validate_on_submit():
        flash(f"Nothing changed: {_first_error(form)}.", "error")
        return redirect(back)
    macro = service.visible_macro(current_user, int(form.macro.data)) if form.macro.data else None
    try:
        target = _bulk_target(form)
        changes = form.changes(macro)
        if changes.merge_into is not None and form.confirm_merge.data != "1":
            others = bulk.other_customers(target, changes.merge_into)
            if others:
                form.confirm_merge.data = "1"
                return render_template(
                    "agent/bulk_merge.html",
                    form=form,
                    target=changes.merge_into,
                    others=others,
                    ids=request.form.getlist("ids"),
                    back=back,
                )
        result = bulk.apply_bulk(target, changes, current_user)
    except (bulk.TooManyTickets, queries.InvalidFilter, TicketError) as refused:
        db.session.rollback()
        flash(f"Nothing changed: {refused}.", "error")
        return redirect(back)
    db.session.commit()
    return render_template("agent/bulk_result.html", result=result, back=back)


def _bulk_target(form: BulkForm) -> list[int] | queries.TicketFilter:
    if form.all_matching.data:
        filters = queries.TicketFilter.from_args(
            saved_views.args_of_query(form.query.data or ""),
            me=current_user.id,
            timezone=current_app.config["HELPDESK_TIMEZONE"],
        )
        bins.check_allowed(filters.in_bin, current_user.role)
        return filters
    ids = form.ticket_ids(request.form.getlist("ids"))
    if not ids:
        raise TicketError("tick the tickets to change first, or choose all matching the filter")
    return ids


def _first_error(form: BulkForm) -> str:
    field, errors = next(iter(form.errors.items()))
    return f"{form[field].label.text}: {errors[0]}"


def _views_page(
    broken: tuple[SavedView, str] | None = None,
    renaming: tuple[int, RenameViewForm] | None = None,
) -> dict[str, Any]:
    """The views page: with a ``broken`` view's message, or a ``renaming`` form's errors."""
    listed = saved_views.manageable_views(current_user)
    return {
        "views": listed,
        "changeable": {view.id for view in listed if saved_views.may_change(current_user, view)},
        "home_view_id": current_user.home_view_id,
        "broken": broken,
        "renaming": renaming,
    }


def _visible_or_404(view_id: int) -> SavedView:
    view = saved_views.visible_view(current_user, view_id)
    if view is None:
        abort(404)
    return view


def _changeable(view_id: int) -> SavedView | None:
    """The view when the agent may change it; None (said so) when it is someone else's."""
    view = _visible_or_404(view_id)
    if not saved_views.may_change(current_user, view):
        flash(ONLY_THE_OWNER, "error")
        return None
    return view
