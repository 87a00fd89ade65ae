"""The one survey question: a rating 1-5 (CSAT) or 0-10 (NPS) and an optional comment."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from helpdesk.models import SurveyKind
from helpdesk.tickets.service import COMMENT_LENGTH
from helpdesk.tickets.surveys import SCALE_ENDS, SCALES, SCORE_LABELS


class SurveyForm(FlaskForm):
    score = RadioField("Your rating", coerce=int)
    comment = TextAreaField(
        "Anything you would like to tell us? (optional)",
        validators=[
            Length(max=COMMENT_LENGTH, message=f"Keep it under {COMMENT_LENGTH:,} characters.")
        ],
    )
    submit = SubmitField("Send my answer")

    def ask(self, kind: SurveyKind) -> None:
        """Offer the kind's scale: 1-5 with words, or 0-10 with the ends named."""
        low, high = SCALE_ENDS[kind]
        if kind == SurveyKind.CSAT:
            labels = {score: f"{score} · {label}" for score, label in SCORE_LABELS.items()}
        else:
            labels = {score: str(score) for score in SCALES[kind]}
            self.score.label.text = f"0 = {low.lower()}, 10 = {high.lower()}"
        self.score.choices = [SelectChoice(score, labels[score]) for score in SCALES[kind]]
        scale = SCALES[kind]
        message = f"Pick a rating from {scale[0]} to {scale[-1]}."
        self.score.validators = [InputRequired(message)]
