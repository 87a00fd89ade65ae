"""The "Start a conversation" form of the customer page."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, Endpoint, IdentityKind, Stage
from helpdesk.tickets import outreach
from helpdesk.web.formatting import STAGE_LABELS

CHANNEL_OF = {IdentityKind.EMAIL: Channel.EMAIL, IdentityKind.PHONE: Channel.SMS}
KNOWN_STAGES = [stage for stage in Stage if stage != Stage.UNKNOWN]
# Its fields' names and ids, apart from the other forms of the customer page.
PREFIX = "outreach"
_LABELS = {Channel.EMAIL: "Email", Channel.SMS: "SMS"}


class OutreachForm(FlaskForm):
    """To whom (an address or number of the customer's: the channel follows), from which
    mailbox or number, the subject (email), the text and the stage."""

    to = SelectField("To", validators=[InputRequired("Choose an address or number.")])
    sender = SelectField("From", description="Left at the first one, the first of its channel.")
    subject = StringField("Subject (email)", validators=[Length(max=300)])
    text = TextAreaField("Message", validators=[InputRequired("Write the message first.")])
    stage = SelectField(
        "Journey stage",
        choices=[SelectChoice("", "The sending endpoint's default")]
        + [
            SelectChoice(stage.value, STAGE_LABELS[stage])
            for stage in Stage
            if stage != Stage.UNKNOWN
        ],
    )
    submit = SubmitField("Start conversation")

    def offer(self, customer: Customer) -> OutreachForm:
        """Offer the customer's addresses and numbers, and every mailbox and number we send from."""
        self.to.choices = [
            SelectChoice(str(each.id), f"{_LABELS[CHANNEL_OF[each.kind]]} · {each.value}")
            for each in customer.identities
            if each.kind in CHANNEL_OF
        ]
        self.sender.choices = [SelectChoice("", "The first of the channel")] + [
            SelectChoice(str(endpoint.id), f"{_LABELS[channel]} · {endpoint.label}")
            for channel in (Channel.EMAIL, Channel.SMS)
            for endpoint in outreach.sending_endpoints(channel)
        ]
        return self

    def chosen_identity(self, customer: Customer) -> CustomerIdentity:
        """The identity picked under To (validation made sure it is one of theirs)."""
        return next(i for i in customer.identities if str(i.id) == self.to.data)

    def chosen_endpoint(self) -> Endpoint | None:
        """The endpoint picked under From; None for the channel's first."""
        return db.session.get(Endpoint, int(self.sender.data)) if self.sender.data else None

    def chosen_stage(self) -> Stage | None:
        """The stage picked; None for the sending endpoint's default."""
        return Stage(self.stage.data) if self.stage.data else None
