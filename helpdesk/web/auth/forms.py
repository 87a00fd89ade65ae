"""The login form and the two-factor code form."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Remember me on this computer")
    next = HiddenField()
    submit = SubmitField("Log in")


class CodeForm(FlaskForm):
    """The second step of a login, turning two-factor on, or off: one code."""

    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=40)],
        description="The 6 digits your authenticator app shows, or one of your recovery codes.",
    )
    submit = SubmitField("Confirm")
