"""The survey settings form: a question per journey stage, the follow-up mode, the interval."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, NumberRange

from helpdesk.models import FollowUpMode, Stage, SurveyKind
from helpdesk.tickets.survey_settings import MAX_INTERVAL_DAYS

NO_SURVEY = ""
KIND_CHOICES = [
    SelectChoice(NO_SURVEY, "No survey"),
    SelectChoice(SurveyKind.CSAT.value, "CSAT: how did we do? (1–5)"),
    SelectChoice(SurveyKind.NPS.value, "NPS: would you recommend us? (0–10)"),
]


class SurveySettingsForm(FlaskForm):
    """One question per stage (``<stage>_kind``) and the install's follow-up settings."""

    follow_up = SelectField(
        "Follow-up of an unhappy answer (NPS 0–6, CSAT 1–2)",
        choices=[
            SelectChoice(
                FollowUpMode.TICKET.value,
                "A new ticket for the agent who handled the rated one (not sent to the customer)",
            ),
            SelectChoice(
                FollowUpMode.FLAG.value,
                "Flag the rated ticket and list it under “To follow up” until an agent clears it",
            ),
        ],
    )
    ask_interval_days = IntegerField(
        "Ask one customer at most once in (days)",
        validators=[
            InputRequired("How many days between two questions to one customer?"),
            NumberRange(0, MAX_INTERVAL_DAYS, f"Between 0 and {MAX_INTERVAL_DAYS} days."),
        ],
    )
    submit = SubmitField("Save survey settings")

    def stage_fields(self) -> list[tuple[Stage, SelectField]]:
        return [(stage, self[f"{stage.value}_kind"]) for stage in Stage]

    def kinds(self) -> dict[Stage, SurveyKind | None]:
        """The chosen question per stage; None where the stage asks none."""
        return {
            stage: SurveyKind(field.data) if field.data else None
            for stage, field in self.stage_fields()
        }


for _stage in Stage:
    setattr(
        SurveySettingsForm,
        f"{_stage.value}_kind",
        SelectField("Question", choices=KIND_CHOICES, default=NO_SURVEY),
    )
