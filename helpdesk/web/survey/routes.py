"""The survey page: no login, the signed link is the key; CSRF-protected like every form."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import Survey, SurveyKind
from helpdesk.tickets import service, surveys
from helpdesk.tickets.errors import TicketError
from helpdesk.web.survey import bp
from helpdesk.web.survey.forms import SurveyForm


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str) -> str | Response | tuple[str, int]:
    survey = surveys.survey_for_token(token) or abort(404)
    form = SurveyForm(data=_prefill(survey))
    form.ask(survey.kind)
    if form.validate_on_submit():
        try:
            service.answer_survey(survey, form.score.data, form.comment.data)
        except TicketError as refused:
            db.session.rollback()
            form.score.errors.append(str(refused))
        else:
            db.session.commit()
            return redirect(url_for("survey.answer", token=token, thanks=1))
    page = render_template(
        "survey/survey.html",
        survey=survey,
        form=form,
        thanks=request.args.get("thanks") == "1" and survey.score is not None,
        top=surveys.SCALES[survey.kind][-1],
        nps=survey.kind == SurveyKind.NPS,
    )
    return (page, 400) if form.errors else page


def _prefill(survey: Survey) -> dict:
    """The answer given so far, or the score the email's link suggested."""
    if survey.score is not None:
        return {"score": survey.score, "comment": survey.comment}
    suggested = request.args.get("score", type=int)
    return {"score": suggested} if suggested in surveys.SCALES[survey.kind] else {}
