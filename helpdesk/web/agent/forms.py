"""Forms of the ticket page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from helpdesk.models import Priority, Stage, TicketStatus, User
from helpdesk.web.formatting import STAGE_LABELS

MAX_TEXT = 20_000


class ComposeForm(FlaskForm):
    """One box for a public reply and an internal note; the button pressed decides which."""

    text = TextAreaField(
        "Message",
        validators=[
            InputRequired("Write something first."),
            Length(max=MAX_TEXT, message=f"Keep it under {MAX_TEXT:,} characters."),
        ],
    )
    reply = SubmitField("Send reply")
    note = SubmitField("Add internal note")


class TicketPropertiesForm(FlaskForm):
    """Assignee, status, priority and stage; every change is audited by the ticket service."""

    assignee = SelectField("Assignee")
    status = SelectField(
        "Status", choices=[SelectChoice(s.value, s.value.capitalize()) for s in TicketStatus]
    )
    priority = SelectField(
        "Priority", choices=[SelectChoice(p.value, p.value.capitalize()) for p in Priority]
    )
    stage = SelectField(
        "Journey stage", choices=[SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage]
    )
    save = SubmitField("Save changes")

    def offer_assignees(self, users: list[User]) -> None:
        self.assignee.choices = [SelectChoice("", "Unassigned")] + [
            SelectChoice(str(u.id), u.name) for u in users
        ]
