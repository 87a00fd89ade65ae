"""The audit page's filters, read from its query string."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, ValidationError
from wtforms.validators import Length, Optional

from helpdesk.audit_trail import SYSTEM, AuditFilter
from helpdesk.models import User


def _trimmed(value: str | None) -> str | None:
    return (value or "").strip() or None


class AuditFilterForm(FlaskForm):
    """Who, what, about what and when; a GET form, so nothing to forge and no CSRF token."""

    class Meta:
        csrf = False

    actor = SelectField("Who", validate_choice=False)
    action = StringField(
        "Action",
        validators=[Optional(), Length(max=80)],
        filters=[_trimmed],
        description="Exact, or up to a dot: user, api, token.created",
    )
    target_type = StringField("Target", validators=[Optional(), Length(max=40)], filters=[_trimmed])
    target_id = StringField(
        "Target id", validators=[Optional(), Length(max=120)], filters=[_trimmed]
    )
    date_from = DateField("From", name="from", validators=[Optional()])
    date_to = DateField("To", name="to", validators=[Optional()])

    def offer_actors(self, users: list[User]) -> None:
        """Anyone, the system (CLI and worker), or one of ``users``."""
        self.actor.choices = [("", "Anyone"), (SYSTEM, "System (CLI, worker)")] + [
            (str(user.id), f"{user.name} ({user.email})") for user in users
        ]

    def validate_actor(self, field: SelectField) -> None:
        if (field.data or "") not in {value for value, _ in field.choices}:
            raise ValidationError("There is no user with that id; pick one from the list.")

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("To must not be before From.")

    def audit_filter(self, timezone: str) -> AuditFilter:
        """The filter these (valid) fields ask for."""
        actor = self.actor.data or None
        return AuditFilter(
            actor=int(actor) if actor and actor != SYSTEM else actor,
            action=self.action.data,
            target_type=self.target_type.data,
            target_id=self.target_id.data,
            date_from=self.date_from.data,
            date_to=self.date_to.data,
            timezone=timezone,
        )
