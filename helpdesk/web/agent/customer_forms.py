"""Forms of the customer page: name and notes, an identity added, a merge."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length
from wtforms.widgets import HiddenInput

from helpdesk.models import Customer, IdentityKind
from helpdesk.tickets.customer_records import NAME_LENGTH, NOTES_LIMIT, ProfileChange


class ProfileForm(FlaskForm):
    """Name and notes, with the version the page showed (a save from a stale page is refused)."""

    name = StringField("Name", validators=[Length(max=NAME_LENGTH)])
    notes = TextAreaField(
        "Notes",
        validators=[Length(max=NOTES_LIMIT)],
        description="For the team only; the customer never sees them.",
    )
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    save = SubmitField("Save name and notes")

    @classmethod
    def showing(cls, customer: Customer) -> ProfileForm:
        """The form at the customer's current values and version."""
        return cls(
            formdata=None,
            data={"name": customer.name, "notes": customer.notes, "version": customer.version},
        )

    def change(self) -> ProfileChange:
        return ProfileChange(name=self.name.data, notes=self.notes.data)


class IdentityForm(FlaskForm):
    """An email address or phone number to add to the customer."""

    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice(IdentityKind.EMAIL.value, "Email"),
            SelectChoice(IdentityKind.PHONE.value, "Phone"),
        ],
    )
    value = StringField(
        "Address or number",
        validators=[InputRequired("Type an email address or a phone number.")],
        description="A phone number with its area code, written any common way.",
    )
    add = SubmitField("Add")


class CustomerMergeForm(FlaskForm):
    """The customer to merge into: an id, or an address, number or name to look them up by."""

    into = StringField(
        "Merge into customer",
        validators=[InputRequired("Type who to merge into: an email, phone, name or id.")],
        description="Their email address, phone number, name, or customer id.",
    )
    # "1" on the preview page: the agent has read what moves.
    confirm = HiddenField()
    merge = SubmitField("Find and preview")
