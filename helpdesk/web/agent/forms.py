"""Forms of the ticket page and the macros."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    MultipleFileField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired
from wtforms.widgets import HiddenInput

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import Macro, Priority, Stage, Team, Ticket, TicketStatus, User
from helpdesk.tickets import bulk, macros, queries
from helpdesk.tickets.copies import addresses_in
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.versions import PROPERTIES
from helpdesk.web.formatting import STAGE_LABELS


class ComposeForm(FlaskForm):
    """One box for a public reply and an internal note; the button pressed decides which."""

    text = TextAreaField(
        "Message",
        # How long it may be is the ticket service's rule, per channel (REPLY_LIMITS).
        validators=[InputRequired("Write something first.")],
    )
    files = MultipleFileField("Attach files")
    # Email: whom the reply copies, and whom the page showed (so a newer addition stays).
    cc = StringField("Cc", description="Separate addresses with commas.")
    cc_shown = HiddenField()
    # The newest message the page showed: newer ones from others are shown before sending.
    seen_message_id = HiddenField()
    # "1" on the page that showed them: send anyway.
    confirm = HiddenField()
    reply = SubmitField("Send reply")
    # A reply that also moves the ticket on: the usual last step, in one click.
    reply_pending = SubmitField("Send and set pending")
    reply_solved = SubmitField("Send and set solved")
    note = SubmitField("Add internal note")

    @property
    def status_after(self) -> TicketStatus | None:
        """The status the pressed button sets once the reply is queued, if any."""
        if self.reply_pending.data:
            return TicketStatus.PENDING
        if self.reply_solved.data:
            return TicketStatus.SOLVED
        return None

    @property
    def seen(self) -> int | None:
        """The newest message id the writer's page showed; None from a page that did not say."""
        value = self.seen_message_id.data or ""
        return int(value) if value.isdigit() else None

    def showing(self, newest_message_id: int, cc: list[str], *, confirming: bool) -> None:
        """Carry what the page about to be shown shows, whatever was posted (the Cc box keeps
        what the writer typed)."""
        self.seen_message_id.raw_data = self.confirm.raw_data = self.cc_shown.raw_data = None
        self.seen_message_id.data = str(newest_message_id)
        self.confirm.data = "1" if confirming else ""
        self.cc_shown.data = ", ".join(cc)
        if not self.cc.raw_data:
            self.cc.data = ", ".join(cc)

    @property
    def has_files(self) -> bool:
        """Whether any file was chosen (read nothing: ``attachments`` reads them)."""
        return any(getattr(upload, "filename", None) for upload in self.files.data or ())

    def attachments(self) -> list[InboundAttachment]:
        """The files chosen for the reply, read into memory (the service checks their size)."""
        return [
            InboundAttachment(
                upload.filename, upload.mimetype or "application/octet-stream", upload.read()
            )
            for upload in self.files.data or ()
            if getattr(upload, "filename", None)
        ]

    def copies(self) -> tuple[list[str] | None, list[str] | None]:
        """The Cc typed and the Cc shown; (None, None) from a page without the box."""
        if not self.cc.raw_data:
            return None, None
        return addresses_in(self.cc.data), addresses_in(self.cc_shown.data)


class TicketPropertiesForm(FlaskForm):
    """Team, assignee, status, priority and stage; every change is audited by the ticket service.

    The page also carries the version and the values it was rendered with, so a save applies
    only what the agent changed, and refuses it when someone else changed the same field since.
    """

    team = SelectField("Team", default="")  # pages from before teams post none
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
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    original_team = HiddenField()
    original_assignee = HiddenField()
    original_status = HiddenField(validators=[InputRequired()])
    original_priority = HiddenField(validators=[InputRequired()])
    original_stage = HiddenField(validators=[InputRequired()])
    save = SubmitField("Save changes")

    def wanted(self) -> dict[str, str]:
        """The values submitted, as the ticket service takes them."""
        return {name: self[name].data or "" for name in PROPERTIES}

    def originals(self) -> dict[str, str]:
        """The values the page was rendered with."""
        return {name: self[f"original_{name}"].data or "" for name in PROPERTIES}

    @classmethod
    def showing(cls, values: dict[str, str], version: int) -> TicketPropertiesForm:
        """The form at these values of the ticket, whatever was posted."""
        originals = {f"original_{name}": value for name, value in values.items()}
        return cls(formdata=None, data={**values, **originals, "version": version})

    def lacks_origin(self) -> bool:
        """A post without the version and values its page showed (a page from before them)."""
        hidden = (self.version, self.original_status, self.original_priority, self.original_stage)
        return any(field.errors for field in hidden)

    def offer_assignees(self, users: list[User], current: User | None) -> None:
        # A deactivated assignee stays on offer while they hold the ticket: a save that did not
        # touch the field must not read as "Unassigned".
        if current is not None and current not in users:
            users = [*users, current]
        self.assignee.choices = [SelectChoice("", "Unassigned")] + [
            SelectChoice(str(u.id), u.name) for u in users
        ]

    def offer_teams(self, teams: list[Team]) -> None:
        self.team.choices = [SelectChoice("", "No team")] + [
            SelectChoice(str(team.id), team.name) for team in teams
        ]


UNCHANGED = SelectChoice("", "— leave as it is —")


class MacroForm(FlaskForm):
    """A macro's name, reply text and actions; the ticket service judges them."""

    name = StringField("Name", validators=[InputRequired("Give the macro a name.")])
    text = TextAreaField(
        "Reply text",
        description="Placeholders: "
        + ", ".join(f"{{{{ {name} }}}}" for name in macros.PLACEHOLDERS)
        + ". Lands in the reply box to edit before sending.",
    )
    status = SelectField(
        "Set status",
        choices=[UNCHANGED, *(SelectChoice(s.value, s.value.capitalize()) for s in TicketStatus)],
        default="",
    )
    priority = SelectField(
        "Set priority",
        choices=[UNCHANGED, *(SelectChoice(p.value, p.value.capitalize()) for p in Priority)],
        default="",
    )
    stage = SelectField(
        "Set journey stage",
        choices=[UNCHANGED, *(SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage)],
        default="",
    )
    assignee = SelectField("Assign to", default="")
    tags = StringField("Add tags", description="Comma-separated, e.g. refund, vip.")
    submit = SubmitField("Save macro")

    def offer_assignees(self, users: list[User]) -> None:
        self.assignee.choices = [UNCHANGED] + [SelectChoice(str(u.id), u.name) for u in users]

    def fields(self) -> macros.MacroFields:
        """The macro as the ticket service takes it."""
        assignee = db.session.get(User, int(self.assignee.data)) if self.assignee.data else None
        return macros.MacroFields(
            name=self.name.data or "",
            text=self.text.data or "",
            status=self.status.data or None,
            priority=self.priority.data or None,
            stage=self.stage.data or None,
            assignee=assignee,
            tags=tuple(tag for tag in (self.tags.data or "").split(",") if tag.strip()),
        )

    def refuse(self, refused: macros.InvalidMacro) -> None:
        """Show the ticket service's refusal next to the field at fault."""
        self[refused.field].errors.append(str(refused))

    @classmethod
    def showing(cls, macro: Macro) -> MacroForm:
        """The form at a macro's current values."""
        return cls(
            data={
                "name": macro.name,
                "text": macro.text,
                "status": macro.status.value if macro.status else "",
                "priority": macro.priority.value if macro.priority else "",
                "stage": macro.stage.value if macro.stage else "",
                "assignee": str(macro.assignee_id or ""),
                "tags": ", ".join(macro.tags),
            }
        )


class ApplyMacroForm(FlaskForm):
    """The macro picker of the ticket page (a plain select without JavaScript)."""

    macro = SelectField("Macro", validators=[InputRequired("Pick a macro.")])
    # What the reply box held (filled in by the page's script): the macro text goes after it.
    draft = HiddenField()
    apply = SubmitField("Apply macro")

    def reply_text(self, rendered: str) -> str:
        """The reply box after applying: the draft kept, the macro's text below it."""
        return "\n\n".join(part for part in ((self.draft.data or "").strip(), rendered) if part)

    def offer(self, choices: list[Macro]) -> None:
        # The picker dialog shows each one's text and how often it was used.
        self.macro.choices = [
            SelectChoice(
                str(m.id),
                m.name,
                render_kw={
                    "data-text": m.text,
                    "data-uses": m.use_count,
                    "data-shared": "1" if m.shared else "",
                },
            )
            for m in choices
        ]


class MergeForm(FlaskForm):
    """Merge the ticket into another, named by its number ("1042" or "#1042")."""

    into = StringField(
        "Merge into ticket",
        validators=[InputRequired("Type the number of the ticket to merge into.")],
        description="Its number, as in #1042.",
    )
    # "1" on the page that said what the merge does when the customers differ.
    confirm = HiddenField()
    merge = SubmitField("Merge")

    def number(self) -> int | None:
        """The ticket number typed; None (with a message next to the box) when it is none."""
        number = ticket_number(self.into.data)
        if number is None:
            self.into.errors.append(f"“{self.into.data}” is no ticket number: type one like 1042.")
        return number


def ticket_number(typed: str | None) -> int | None:
    """A ticket number as agents type it ("1042" or "#1042"); None when it is none."""
    digits = (typed or "").strip().removeprefix("#").strip()
    return int(digits) if digits.isdigit() and len(digits) <= 12 else None


class SplitForm(FlaskForm):
    """Split the ticket at one message; the first post shows what would move."""

    message_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    confirm = HiddenField()
    split = SubmitField("Split from here")


class SaveViewForm(FlaskForm):
    """ "Save this view" on the queue: a name, and who sees it (its fields are ``view-…``, apart
    from the queue's filters)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="view", **kwargs)

    name = StringField("View name", validators=[InputRequired("Give the view a name.")])
    team = SelectField("Shared with", default="")
    save = SubmitField("Save view")

    def offer_teams(self, teams: list[Team]) -> None:
        self.team.choices = [SelectChoice("", "Only me")] + [
            SelectChoice(str(team.id), f"Team {team.name}") for team in teams
        ]

    def chosen_team(self) -> Team | None:
        return db.session.get(Team, int(self.team.data)) if self.team.data else None


class RenameViewForm(FlaskForm):
    name = StringField("New name", validators=[InputRequired("Give the view a name.")])


KEEP = SelectChoice("", "— leave —")
NOBODY = "none"
MARK_SPAM, NOT_SPAM, DELETE = "spam", "not-spam", "delete"


class BulkForm(FlaskForm):
    """The queue's bulk bar: which tickets (the ticked ones, or all matching the filter) and
    what to change on each; every field left alone changes nothing. Its fields are ``bulk-…``,
    apart from the queue's filters; the ticked rows' checkboxes post ``ids``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="bulk", **kwargs)

    all_matching = BooleanField("All tickets matching this filter")
    # The queue's query string, for "all matching".
    query = HiddenField()
    assignee = SelectField("Assignee", default="")
    team = SelectField("Team", default="")
    status = SelectField(
        "Status",
        choices=[KEEP, *(SelectChoice(s.value, s.value.capitalize()) for s in TicketStatus)],
        default="",
    )
    priority = SelectField(
        "Priority",
        choices=[KEEP, *(SelectChoice(p.value, p.value.capitalize()) for p in Priority)],
        default="",
    )
    stage = SelectField(
        "Stage",
        choices=[KEEP, *(SelectChoice(s.value, STAGE_LABELS[s]) for s in Stage)],
        default="",
    )
    tags_add = StringField("Add tags", description="Comma-separated.")
    tags_remove = StringField("Remove tags", description="Comma-separated.")
    macro = SelectField("Macro", default="")
    merge_into = StringField(
        "Merge into ticket", description="Its number, as in #1042: the others join it."
    )
    # "1" once the agent has read that some chosen tickets are other customers'.
    confirm_merge = HiddenField()
    trash = SelectField("Spam or trash", default="")
    apply = SubmitField("Apply")

    def offer(
        self,
        users: list[User],
        teams: list[Team],
        usable_macros: list[Macro],
        may_delete: bool = False,
    ) -> None:
        """The agents, teams and macros (those without a reply text) to choose from, and
        deleting for managers and admins."""
        self.trash.choices = [
            KEEP,
            SelectChoice(MARK_SPAM, "Mark as spam"),
            SelectChoice(NOT_SPAM, "Not spam"),
        ] + ([SelectChoice(DELETE, "Delete")] if may_delete else [])
        self.assignee.choices = [KEEP, SelectChoice(NOBODY, "Unassign")] + [
            SelectChoice(str(u.id), u.name) for u in users
        ]
        self.team.choices = [KEEP, SelectChoice(NOBODY, "No team")] + [
            SelectChoice(str(t.id), t.name) for t in teams
        ]
        self.macro.choices = [SelectChoice("", "— none —")] + [
            SelectChoice(str(m.id), m.name) for m in usable_macros
        ]

    def ticket_ids(self, posted: list[str]) -> list[int]:
        """The ticked tickets' ids (the checkboxes post ``ids`` once per ticket)."""
        return [int(value) for value in posted if value.isdigit()]

    def changes(self, macro: Macro | None) -> bulk.BulkChanges:
        """The changes as the ticket service takes them."""
        return bulk.BulkChanges(
            status=self.status.data or None,
            priority=self.priority.data or None,
            stage=self.stage.data or None,
            assignee=_row_or_keep(User, self.assignee.data),
            team=_row_or_keep(Team, self.team.data),
            tags_add=_tags(self.tags_add.data),
            tags_remove=_tags(self.tags_remove.data),
            macro=macro,
            merge_into=self.merge_target(),
            spam={MARK_SPAM: True, NOT_SPAM: False}.get(self.trash.data),
            deleted=self.trash.data == DELETE,
        )

    def merge_target(self) -> Ticket | None:
        """The ticket whose number was typed to merge into; None when the box is empty."""
        typed = (self.merge_into.data or "").strip()
        if not typed:
            return None
        number = ticket_number(typed)
        found = queries.ticket_numbered(number) if number is not None else None
        if found is None:
            raise TicketError(f"there is no ticket {typed} to merge into")
        return found


def _row_or_keep(
    model: type[User] | type[Team], value: str | None
) -> User | Team | bulk.Keep | None:
    """The chosen user or team; None for "nobody" / "no team"; KEEP when left alone."""
    if not value:
        return bulk.KEEP
    if value == NOBODY:
        return None
    return db.session.get(model, int(value))


def _tags(text: str | None) -> tuple[str, ...]:
    return tuple(tag for tag in (text or "").split(",") if tag.strip())
