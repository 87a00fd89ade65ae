"""The survey settings page: thin view over helpdesk.tickets.survey_settings."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import FollowUpMode
from helpdesk.tickets import survey_settings
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.survey_forms import NO_SURVEY, SurveySettingsForm


@bp.route("/surveys", methods=["GET", "POST"])
@admin_required
def survey_settings_page() -> str | Response | tuple[str, int]:
    form = SurveySettingsForm()
    if form.validate_on_submit():
        try:
            survey_settings.save(
                form.kinds(), FollowUpMode(form.follow_up.data), form.ask_interval_days.data
            )
        except TicketError as refused:
            db.session.rollback()
            form.ask_interval_days.errors.append(str(refused))
        else:
            db.session.commit()
            flash("Survey settings saved; they apply to tickets solved from now on.", "success")
            return redirect(url_for("admin.survey_settings_page"))
    if not form.is_submitted():
        _fill(form)
    page = render_template(
        "admin/surveys.html",
        form=form,
        per_stage=survey_settings.per_stage(),
        csat_switch=current_app.config["HELPDESK_CSAT"],
    )
    return (page, 400) if form.errors else page


def _fill(form: SurveySettingsForm) -> None:
    kinds = survey_settings.stage_kinds()
    for stage, field in form.stage_fields():
        field.data = kinds[stage].value if stage in kinds else NO_SURVEY
    policy = survey_settings.policy()
    form.follow_up.data = policy.follow_up.value
    form.ask_interval_days.data = policy.ask_interval_days
