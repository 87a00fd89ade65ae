"""Forms of the admin pages: users, API tokens, stage and routing rules, service targets,
teams."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from channels.base import Channel
from helpdesk.models import (
    AssignmentMode,
    Priority,
    Role,
    RoutingRule,
    Stage,
    StageRule,
    Team,
    TokenScope,
    User,
)
from helpdesk.passwords import MIN_PASSWORD_LENGTH, password_problem
from helpdesk.tickets import sla
from helpdesk.tickets.stage_rules import RULE_STAGES
from helpdesk.web.formatting import CHANNEL_LABELS, STAGE_LABELS

ROLE_CHOICES = [SelectChoice(role.value, role.value.capitalize()) for role in Role]


def _password_rules(form: FlaskForm, field: PasswordField) -> None:
    """helpdesk.passwords' rules, shown beside the other fields' errors; the service checks the
    person's own name and address again when it sets the password."""
    details = {name: form[name].data or "" for name in ("email", "name") if name in form}
    if problem := password_problem(field.data or "", **details):
        raise ValidationError(problem)


PASSWORD_RULES = [DataRequired(), _password_rules]
PASSWORD_HINT = (
    f"At least {MIN_PASSWORD_LENGTH} characters, not a common password, not the person's name "
    "or email; a few unrelated words make a good one."
)


class NewUserForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.AGENT.value)
    password = PasswordField("Password", validators=PASSWORD_RULES, description=PASSWORD_HINT)
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
    password = PasswordField("New password", validators=PASSWORD_RULES, description=PASSWORD_HINT)
    confirm = PasswordField(
        "New password again", validators=[EqualTo("password", message="The passwords differ.")]
    )
    reset = SubmitField("Set password")


class TwoFactorPolicyForm(FlaskForm):
    required = BooleanField("Admins must use two-factor (set up before anything else)")
    save_policy = SubmitField("Save")


class NewTokenForm(FlaskForm):
    user = SelectField("For user", validators=[DataRequired()])
    name = StringField(
        "Name",
        validators=[Optional(), Length(max=120)],
        description="To recognise and revoke it by; left empty, one is made up.",
    )
    scope = SelectField(
        "Scope",
        choices=[
            SelectChoice("", "Everything the user's role allows"),
            SelectChoice(TokenScope.READ.value, "read: look at tickets, customers and reports"),
            SelectChoice(TokenScope.WRITE.value, "write: also change tickets and customers"),
            SelectChoice(TokenScope.ADMIN.value, "admin: everything the user's role allows"),
        ],
        default="",
        description="Never wider than the user's role: an agent's admin token still acts as an "
        "agent.",
    )
    expires = DateField(
        "Works through",
        validators=[Optional()],
        description="The last day it works (helpdesk time); left empty, it never expires.",
    )
    submit = SubmitField("Mint token")

    def offer_users(self, users: list[User]) -> None:
        self.user.choices = [SelectChoice(str(u.id), f"{u.name} <{u.email}>") for u in users]


RULE_STAGE_CHOICES = [SelectChoice(s.value, STAGE_LABELS[s]) for s in RULE_STAGES]
ANY_CHANNEL = [SelectChoice("", "Any channel")] + [
    SelectChoice(c.value, CHANNEL_LABELS[c]) for c in Channel
]


class StageRuleForm(FlaskForm):
    """A stage rule: the stage it gives and the conditions that must all hold."""

    stage = SelectField("Gives the stage", choices=RULE_STAGE_CHOICES)
    channel = SelectField("Channel", choices=ANY_CHANNEL, default="")
    endpoint = StringField(
        "Arrived at", description="Mailbox address, SMS number or chat site key."
    )
    recipient = StringField("Sent to", description="The address or alias the customer wrote to.")
    first_word = StringField("First word", description="SMS keyword, any case, e.g. ORDER.")
    url_pattern = StringField("Chat page URL", description="A pattern such as /pricing*.")
    utm_source = StringField("utm_source")
    utm_medium = StringField("utm_medium")
    utm_campaign = StringField("utm_campaign")
    keyword = StringField("Mentions", description="A word or phrase in the subject or text.")
    submit = SubmitField("Save rule")

    def conditions(self) -> dict[str, str | None]:
        """The condition fields by the rule's column names."""
        return {name: self[name].data for name in StageRule.CONDITIONS}


class NewStageRuleForm(StageRuleForm):
    """A new rule also gets its name, which stays: tickets remember their rule by it."""

    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=120)],
        description="Tickets remember the rule that tagged them by this name; it cannot change.",
    )


class TrySampleForm(FlaskForm):
    """A sample request for the "try it" box; read from the query string, changes nothing."""

    class Meta:
        csrf = False

    channel = SelectField(
        "Channel", choices=[SelectChoice(c.value, CHANNEL_LABELS[c]) for c in Channel]
    )
    endpoint = StringField(
        "Arrives at",
        validators=[DataRequired("Say which mailbox, number or site it arrives at.")],
        default="support@example.test",
    )
    recipient = StringField("Sent to", description="Empty: the same as where it arrives.")
    subject = StringField("Subject")
    text = TextAreaField("Text")
    url = StringField("Chat page URL")
    utm_source = StringField("utm_source")
    utm_medium = StringField("utm_medium")
    utm_campaign = StringField("utm_campaign")


ANY_STAGE = [SelectChoice("", "Any stage")] + [
    SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage
]
PRIORITY_CHOICES = [SelectChoice(p.value, p.value.capitalize()) for p in Priority]


class RoutingRuleForm(FlaskForm):
    """A routing rule: the conditions that must all hold, and the team and priority it gives."""

    intake_stage = SelectField("Stage at intake", choices=ANY_STAGE, default="")
    stage = SelectField(
        "Stage now", choices=ANY_STAGE, default="", description="After any correction."
    )
    channel = SelectField("Channel", choices=ANY_CHANNEL, default="")
    endpoint = StringField(
        "Arrived at", description="Mailbox address, SMS number or chat site key."
    )
    # New tickets have neither tags nor a priority a person gave: these count on a re-run.
    tag = StringField("Tag", description="Counts when routing runs again after a stage change.")
    priority = SelectField(
        "Priority set by a person",
        choices=[SelectChoice("", "Any priority"), *PRIORITY_CHOICES],
        default="",
        description="Counts when routing runs again after a stage change.",
    )
    subject_words = StringField(
        "Subject mentions", description="Words or phrases, separated by commas; any one will do."
    )
    team = SelectField("Sends it to the team", default="")
    gives_priority = SelectField(
        "Gives the priority",
        choices=[SelectChoice("", "Normal (leave it)"), *PRIORITY_CHOICES],
        default="",
    )
    submit = SubmitField("Save rule")

    def offer_teams(self, teams: list[Team]) -> None:
        self.team.choices = [SelectChoice("", "No team")] + [
            SelectChoice(str(team.id), team.name) for team in teams
        ]

    def show(self, rule: RoutingRule) -> None:
        """Fill the form from a saved rule (the page as first opened)."""
        for name in RoutingRule.CONDITIONS:
            self[name].data = getattr(rule, name) or ""
        self.team.data = str(rule.team_id or "")
        self.gives_priority.data = rule.gives_priority or ""

    def conditions(self) -> dict[str, str | None]:
        """The condition fields by the rule's column names."""
        return {name: self[name].data for name in RoutingRule.CONDITIONS}


class NewRoutingRuleForm(RoutingRuleForm):
    """A new rule also gets its name, which stays: tickets remember their rule by it."""

    name = StringField(
        "Name",
        validators=[DataRequired(), Length(max=120)],
        description="Tickets remember the rule that routed them by this name; it cannot change.",
    )


class TryRoutingForm(FlaskForm):
    """A sample ticket for routing's "try it" box; read from the query string, changes nothing."""

    class Meta:
        csrf = False

    channel = SelectField(
        "Channel", choices=[SelectChoice(c.value, CHANNEL_LABELS[c]) for c in Channel]
    )
    endpoint = StringField("Arrived at", description="Empty: anywhere.")
    stage = SelectField(
        "Stage", choices=[SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage], default="unknown"
    )
    intake_stage = SelectField(
        "Stage at intake",
        choices=[SelectChoice("", "The same")]
        + [SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage],
        default="",
    )
    tags = StringField("Tags", description="Separated by commas.")
    priority = SelectField("Priority", choices=PRIORITY_CHOICES, default="normal")
    subject = StringField("Subject")


class EndpointStageForm(FlaskForm):
    """The stage an endpoint's requests get when no rule matches."""

    stage = SelectField(
        "Default stage",
        choices=[
            SelectChoice(s.value, "None (unknown)" if s == Stage.UNKNOWN else STAGE_LABELS[s])
            for s in [*RULE_STAGES, Stage.UNKNOWN]
        ],
    )


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


class TeamForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=80)])
    assignment = SelectField(
        "Automatic assignment",
        choices=[
            SelectChoice(AssignmentMode.OFF.value, "Off: tickets wait until someone takes them"),
            SelectChoice(
                AssignmentMode.ROUND_ROBIN.value,
                "Round robin: to whoever was given a ticket longest ago",
            ),
            SelectChoice(
                AssignmentMode.LEAST_OPEN.value, "Least open work: to whoever holds the fewest"
            ),
        ],
        default=AssignmentMode.OFF.value,
    )
    capacity = IntegerField(
        "Capacity per agent",
        default=10,
        validators=[InputRequired(message="How many tickets may an agent hold?")],
        description="New and open tickets (not pending) an agent holds before automatic "
        "assignment passes them by.",
    )
    return_unanswered_when_away = BooleanField(
        "When a member goes away, return their tickets without an agent reply to the team"
    )
    members = SelectMultipleField(
        "Members",
        coerce=int,
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
        description="An agent may be in several teams.",
    )
    submit = SubmitField("Save team")

    def offer_members(self, users: list[User]) -> None:
        self.members.choices = [
            SelectChoice(user.id, f"{user.name} ({user.email})") for user in users
        ]
