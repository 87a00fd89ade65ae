"""Forms for managing users, API tokens and chat sites."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from helpdesk.accounts import MIN_PASSWORD_LENGTH
from helpdesk.models import Role, Stage, User

ROLE_CHOICES = [SelectChoice(role.value, role.value.capitalize()) for role in Role]
PASSWORD_RULES = [
    DataRequired(),
    Length(min=MIN_PASSWORD_LENGTH, message=f"At least {MIN_PASSWORD_LENGTH} characters."),
]


class NewUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.AGENT.value)
    password = PasswordField("Password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "Password again", validators=[EqualTo("password", message="The passwords differ.")]
    )
    submit = SubmitField("Create user")


class EditUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", choices=ROLE_CHOICES)
    active = BooleanField("Active (may log in and take tickets)")
    submit = SubmitField("Save")


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=PASSWORD_RULES)
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", message="The passwords differ.")]
    )
    reset = SubmitField("Set password")


class NewTokenForm(FlaskForm):
    user = SelectField("For user", validators=[DataRequired()])
    name = StringField(
        "Name",
        validators=[Optional(), Length(max=120)],
        description="To recognise and revoke it by; left empty, one is made up.",
    )
    submit = SubmitField("Mint token")

    def offer_users(self, users: list[User]) -> None:
        self.user.choices = [SelectChoice(str(u.id), f"{u.name} <{u.email}>") for u in users]


STAGE_CHOICES = [SelectChoice("", "No default (rules, then unknown)")] + [
    SelectChoice(stage.value, stage.value.capitalize()) for stage in Stage if stage != Stage.UNKNOWN
]


class NewChatSiteForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    origins = TextAreaField(
        "Origins",
        validators=[DataRequired()],
        description="One per line, e.g. https://shop.example: only these pages may use the chat.",
    )
    stage = SelectField("Default stage", choices=STAGE_CHOICES)
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
