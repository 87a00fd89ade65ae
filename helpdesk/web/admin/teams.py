"""Admin pages for teams: thin views over helpdesk.teams."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from helpdesk import accounts, teams
from helpdesk.extensions import db
from helpdesk.models import Team, User
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.forms import TeamForm


@bp.get("/teams")
@admin_required
def teams_page() -> str:
    """Every team with its members, how it assigns, and its unsolved and waiting tickets."""
    return render_template(
        "admin/teams.html", teams=teams.all_teams(), counts=teams.ticket_counts()
    )


@bp.route("/teams/new", methods=["GET", "POST"])
@admin_required
def new_team() -> str | Response | tuple[str, int]:
    return _edit(None)


@bp.route("/teams/<int:team_id>", methods=["GET", "POST"])
@admin_required
def edit_team(team_id: int) -> str | Response | tuple[str, int]:
    return _edit(db.session.get(Team, team_id) or abort(404))


def _edit(team: Team | None) -> str | Response | tuple[str, int]:
    form = TeamForm(obj=team)
    form.offer_members(accounts.active_users())
    if team is not None and not form.is_submitted():
        form.members.data = [member.id for member in team.members]
    if form.validate_on_submit():
        try:
            team = _save(team, form)
        except teams.TeamError as refused:
            db.session.rollback()
            getattr(form, refused.field).errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Team “{team.name}” saved.", "success")
            return redirect(url_for("admin.teams_page"))
    page = render_template("admin/team.html", form=form, team=team)
    return (page, 400) if form.errors else page


def _save(team: Team | None, form: TeamForm) -> Team:
    settings = {
        "name": form.name.data,
        "assignment": form.assignment.data,
        "capacity": form.capacity.data,
        "return_unanswered_when_away": form.return_unanswered_when_away.data,
    }
    if team is None:
        team = teams.create_team(**settings)
    else:
        teams.update_team(team, **settings)
    members = [db.session.get(User, user_id) for user_id in form.members.data or []]
    teams.set_members(team, members)
    return team
