"""The campaign form: the segment, the channel and sender, the message and its stage."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage
from helpdesk.tickets import outreach
from helpdesk.tickets.campaigns import Segment
from helpdesk.web.formatting import STAGE_LABELS

_STAGES = [
    SelectChoice(stage.value, STAGE_LABELS[stage]) for stage in Stage if stage != Stage.UNKNOWN
]
_CHANNELS = [SelectChoice(Channel.EMAIL.value, "Email"), SelectChoice(Channel.SMS.value, "SMS")]


class CampaignForm(FlaskForm):
    """Who (by stage and days, or by tag), how, what; previewed before it is sent."""

    segment = RadioField(
        "Send to customers",
        choices=[
            SelectChoice("stage", "with a ticket at a journey stage, opened in a range of days"),
            SelectChoice("tag", "with a ticket that has a tag"),
        ],
        default="stage",
    )
    segment_stage = SelectField("Journey stage of their ticket", choices=_STAGES)
    first_day = DateField("From", validators=[Optional()])
    last_day = DateField("To", validators=[Optional()])
    tag = StringField("Tag", validators=[Length(max=50)])
    channel = RadioField("Channel", choices=_CHANNELS, default=Channel.EMAIL.value)
    sender = SelectField("From", description="Left at the first one, the first of the channel.")
    subject = StringField("Subject (email)", validators=[Length(max=300)])
    text = TextAreaField("Message", validators=[InputRequired("Write the message first.")])
    stage = SelectField("Journey stage of the new tickets", choices=_STAGES)
    # The number of recipients the preview showed: sending is refused when it changed since.
    previewed = HiddenField()
    preview = SubmitField("Preview")
    send = SubmitField("Send")

    def offer(self) -> CampaignForm:
        """Offer every mailbox and SMS number we send from."""
        self.sender.choices = [SelectChoice("", "The first of the channel")] + [
            SelectChoice(str(endpoint.id), f"{choice.label} · {endpoint.label}")
            for choice in _CHANNELS
            for endpoint in outreach.sending_endpoints(Channel(choice.value))
        ]
        return self

    def chosen_segment(self) -> Segment:
        """The segment asked for; InvalidInput says what is amiss."""
        if self.segment.data == "tag":
            return Segment.of(tag=self.tag.data or "")
        return Segment.of(Stage(self.segment_stage.data), self.first_day.data, self.last_day.data)

    def chosen_channel(self) -> Channel:
        return Channel(self.channel.data)

    def chosen_endpoint(self) -> Endpoint | None:
        """The endpoint picked under From; None for the channel's first."""
        return db.session.get(Endpoint, int(self.sender.data)) if self.sender.data else None
