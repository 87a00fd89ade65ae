"""The webhook forms: a URL and the events it receives."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.models.webhooks import EVENT_TYPES


class WebhookEventsForm(FlaskForm):
    """Which events an endpoint receives."""

    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(name, name) for name in EVENT_TYPES],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        validators=[DataRequired(message="Choose at least one event.")],
    )
    submit = SubmitField("Save events")


class NewWebhookForm(WebhookEventsForm):
    """A new endpoint: where, and which events."""

    url = StringField(
        "URL",
        validators=[DataRequired(message="Where should events be sent?"), Length(max=2000)],
        description="https:// on a public address; each event is POSTed there, signed.",
    )
    submit = SubmitField("Subscribe")
