"""The one survey question."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from helpdesk.tickets.service import COMMENT_LENGTH
from helpdesk.tickets.surveys import SCORE_LABELS


class SurveyForm(FlaskForm):
    score = RadioField(
        "Your rating",
        choices=[
            SelectChoice(score, f"{score} · {label}") for score, label in SCORE_LABELS.items()
        ],
        coerce=int,
        validators=[InputRequired("Pick a rating from 1 to 5.")],
    )
    comment = TextAreaField(
        "Anything you would like to tell us? (optional)",
        validators=[
            Length(max=COMMENT_LENGTH, message=f"Keep it under {COMMENT_LENGTH:,} characters.")
        ],
    )
    submit = SubmitField("Send my answer")
