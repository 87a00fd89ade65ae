"""Forms for managing users and API tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from helpdesk.accounts import MIN_PASSWORD_LENGTH
from helpdesk.models import Role, Stage, User
from helpdesk.tickets import sla

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


def _duration(form: FlaskForm, field: StringField) -> None:
    try:
        sla.parse_minutes(field.data)
    except ValueError as error:
        raise ValidationError(str(error)) from None


class SlaTargetsForm(FlaskForm):
    """Two targets per journey stage, written like 30m, 4h or 2d; blank for none."""

    submit = SubmitField("Save targets")

    def pairs(self) -> list[tuple[Stage, StringField, StringField]]:
        return [
            (stage, self[f"{stage.value}_first_response"], self[f"{stage.value}_resolution"])
            for stage in Stage
        ]


for _stage in Stage:
    setattr(
        SlaTargetsForm,
        f"{_stage.value}_first_response",
        StringField("First response", validators=[Optional(), _duration]),
    )
    setattr(
        SlaTargetsForm,
        f"{_stage.value}_resolution",
        StringField("Resolution", validators=[Optional(), _duration]),
    )
