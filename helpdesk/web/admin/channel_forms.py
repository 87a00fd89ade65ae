"""Forms for the channels admins connect: mailboxes, SMS numbers and chat sites."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from helpdesk.models import Security, Stage
from helpdesk.web.formatting import STAGE_LABELS

SECURITY_CHOICES = [SelectChoice(s.value, s.value.upper()) for s in Security]
STAGE_CHOICES = [SelectChoice("", "None (unknown)")] + [
    SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage if s != Stage.UNKNOWN
]
PORT = [Optional(), NumberRange(1, 65535, "A port is a number from 1 to 65535.")]


def stage_pairs(text: str | None, left: str) -> dict[str, str]:
    """Lines like ``sales@shop.example=purchase`` as {left side: stage}."""
    pairs = {}
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        key, _, stage = line.partition("=")
        if not key.strip() or stage.strip() not in Stage.__members__.values():
            allowed = ", ".join(s.value for s in Stage if s != Stage.UNKNOWN)
            raise ValueError(f"write one {left}=STAGE per line, the stage one of {allowed}")
        pairs[key.strip()] = stage.strip()
    return pairs


def _pairs_of(left: str):
    def check(form: FlaskForm, field: TextAreaField) -> None:
        try:
            stage_pairs(field.data, left)
        except ValueError as error:
            raise ValidationError(str(error)) from None

    return check


class MailboxForm(FlaskForm):
    address = StringField("Support address", validators=[DataRequired()])
    imap_host = StringField("IMAP server", validators=[DataRequired()])
    imap_port = IntegerField("IMAP port", default=993, validators=PORT)
    imap_security = SelectField("IMAP security", choices=SECURITY_CHOICES, default="tls")
    imap_user = StringField("IMAP user", validators=[DataRequired()])
    imap_password = PasswordField("IMAP password", validators=[DataRequired()])
    folder = StringField("Folder", default="INBOX", validators=[DataRequired()])
    processed_folder = StringField(
        "Move processed mail to", description="Empty: mark it read and leave it in the folder."
    )
    smtp_host = StringField("SMTP server", description="Where replies leave from.")
    smtp_port = IntegerField("SMTP port", default=587, validators=PORT)
    smtp_security = SelectField("SMTP security", choices=SECURITY_CHOICES, default="starttls")
    smtp_user = StringField("SMTP user")
    smtp_password = PasswordField("SMTP password")
    stage = SelectField("Default stage", choices=STAGE_CHOICES, default="")
    aliases = TextAreaField(
        "Aliases",
        validators=[_pairs_of("ADDRESS")],
        description="One ADDRESS=STAGE per line, e.g. sales@shop.example=purchase.",
    )
    acknowledge = BooleanField("Acknowledge each new ticket with its number")
    submit = SubmitField("Add mailbox")


class EditMailboxForm(MailboxForm):
    """The same settings but the address (tickets hang on it); empty passwords keep the stored."""

    address = None
    imap_password = PasswordField(
        "IMAP password", description="Leave empty to keep the stored password."
    )
    smtp_password = PasswordField(
        "SMTP password", description="Leave empty to keep the stored password."
    )
    aliases = TextAreaField(
        "Add aliases",
        validators=[_pairs_of("ADDRESS")],
        description="One ADDRESS=STAGE per line; existing ones are edited under Stage rules.",
    )
    enabled = BooleanField("Fetch mail from this mailbox")
    submit = SubmitField("Save mailbox")


class SmsNumberForm(FlaskForm):
    number = StringField("Phone number", description="International format, e.g. +15550001111.")
    messaging_service = StringField(
        "or Messaging Service SID", description="MG…; any number of its pool is accepted."
    )
    name = StringField("Name")
    stage = SelectField("Default stage", choices=STAGE_CHOICES, default="")
    keywords = TextAreaField(
        "Keywords",
        validators=[_pairs_of("WORD")],
        description="One WORD=STAGE per line, a rule on the text's first word: ORDER=purchase.",
    )
    submit = SubmitField("Add number")


class NewChatSiteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    origins = TextAreaField(
        "Origins",
        validators=[DataRequired()],
        description="One per line, e.g. https://shop.example: only these pages may use the chat.",
    )
    stage = SelectField("Default stage", choices=STAGE_CHOICES, default="")
    mailbox = EmailField(
        "Mailbox",
        validators=[Optional(), Length(max=254)],
        description="Replies to visitors who have left go out by email from this address.",
    )
    url_rules = TextAreaField(
        "URL rules",
        validators=[Optional()],
        description="One PATTERN=STAGE per line, e.g. /pricing*=attraction (stage rules).",
    )
    submit = SubmitField("Add site")
