"""The form that confirms erasing a customer."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import InputRequired, Length


class EraseCustomerForm(FlaskForm):
    confirmation = StringField(
        "Type the customer's name or ERASE to confirm",
        validators=[InputRequired(message="Type the customer's name or ERASE."), Length(max=200)],
    )
    submit = SubmitField("Erase customer")
