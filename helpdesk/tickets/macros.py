"""Macros: a reply text with placeholders and ticket changes, applied in one go.

A shared macro has no owner and is kept by admins; a personal one is its owner's alone. The
text is a Jinja template rendered in a sandbox that knows only the placeholders below: a macro
naming anything else is refused when it is saved, never when an agent applies it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from sqlalchemy import or_, select, update

from helpdesk.extensions import db
from helpdesk.models import (
    Macro,
    Priority,
    Stage,
    StageSource,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets.conversation import NOTE_LIMIT
from helpdesk.tickets.errors import InvalidInput, TicketError
from helpdesk.tickets.events import _flush, _record
from helpdesk.tickets.properties import _parse, assign, set_priority, set_stage, set_status
from helpdesk.tickets.tags import add_tag, tag_name

NAME_LENGTH = 120
PLACEHOLDERS = (
    "customer.first_name",
    "customer.name",
    "ticket.number",
    "ticket.stage",
    "agent.first_name",
)
# What a customer without a known name is greeted as: "Hi there".
UNKNOWN_FIRST_NAME = "there"


class InvalidMacro(InvalidInput):
    """A macro that cannot be saved; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class MacroFields:
    """What a macro holds, as a form or the API gives it; None leaves that property alone."""

    name: str
    text: str = ""
    status: str | None = None
    priority: str | None = None
    stage: str | None = None
    assignee: User | None = None
    tags: tuple[str, ...] = ()


class _Sandbox(SandboxedEnvironment):
    # A reply needs no arithmetic; refusing it keeps "{{ 'x' * 10**9 }}" from eating memory.
    intercepted_binops = frozenset({"*", "**", "//", "/", "%", "+", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        raise SecurityError("macros do no arithmetic")


_SANDBOX = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
# Only the placeholders: no range(), lipsum() or other helpers, and only filters that cannot
# make a text larger than the placeholders' values ("|center(10000000)" could).
_SANDBOX.globals.clear()
_FILTERS = ("capitalize", "default", "d", "lower", "title", "trim", "upper")
_SANDBOX.filters = {name: _SANDBOX.filters[name] for name in _FILTERS}


def visible_macros(user: User) -> list[Macro]:
    """The macros a user may apply: the shared ones and their own, by name."""
    return list(
        db.session.scalars(
            select(Macro)
            .where(or_(Macro.owner_id.is_(None), Macro.owner_id == user.id))
            .order_by(Macro.name, Macro.id)
        )
    )


def shared_macros() -> list[Macro]:
    """The macros everyone may apply, by name."""
    return list(
        db.session.scalars(select(Macro).where(Macro.owner_id.is_(None)).order_by(Macro.name))
    )


def visible_macro(user: User, macro_id: int) -> Macro | None:
    """One macro the user may apply; None when there is none or it is another agent's."""
    macro = db.session.get(Macro, macro_id)
    if macro is None or macro.owner_id not in (None, user.id):
        return None
    return macro


def create_macro(owner: User | None, fields: MacroFields) -> Macro:
    """A new macro, personal to ``owner`` or shared (None); InvalidMacro names what is wrong."""
    macro = Macro(owner=owner, use_count=0, created_at=utcnow())
    _fill(macro, fields)
    db.session.add(macro)
    db.session.flush()
    return macro


def update_macro(macro: Macro, fields: MacroFields) -> Macro:
    """Change a macro's name, text or actions; its use count stays."""
    _fill(macro, fields)
    db.session.flush()
    return macro


def delete_macro(macro: Macro) -> None:
    """Remove a macro; the tickets it was applied to keep their changes and events."""
    db.session.delete(macro)
    db.session.flush()


def apply_macro(
    macro: Macro,
    ticket: Ticket,
    actor: User,
    *,
    source: StageSource = StageSource.AGENT,
    at: datetime | None = None,
) -> str:
    """Make the macro's changes to the ticket, count the use, and return its text rendered for
    this ticket (after the changes, so ``ticket.stage`` is the new stage)."""
    at = at or utcnow()
    _record(ticket, actor, "macro", None, macro.name, at)
    if macro.status is not None:
        set_status(ticket, actor, macro.status, at=at)
    if macro.priority is not None:
        set_priority(ticket, actor, macro.priority, at=at)
    if macro.stage is not None:
        set_stage(ticket, actor, macro.stage, source=source, at=at)
    if macro.assignee is not None:
        assign(ticket, actor, macro.assignee, at=at)
    for name in macro.tags:
        add_tag(ticket, actor, name, at=at)
    # In SQL, so two agents applying it at once both count.
    db.session.execute(
        update(Macro).where(Macro.id == macro.id).values(use_count=Macro.use_count + 1)
    )
    db.session.expire(macro, ["use_count"])
    ticket.updated_at = at
    _flush()
    return render(macro.text, _values(ticket, actor))


def render(text: str, values: dict[str, dict[str, Any]]) -> str:
    """The macro text with its placeholders filled in from ``values``."""
    try:
        return _SANDBOX.from_string(text).render(values).strip()
    except (TemplateError, SecurityError) as failed:
        raise TicketError(f"the macro text cannot be filled in: {failed}") from None


def _values(ticket: Ticket, agent: User) -> dict[str, dict[str, Any]]:
    """What the placeholders stand for on this ticket; plain values, nothing to reach through."""
    name = ticket.customer.name or ticket.customer.display_name
    first = ticket.customer.name.split()[0] if ticket.customer.name else UNKNOWN_FIRST_NAME
    return {
        "customer": {"name": name, "first_name": first},
        "ticket": {"number": ticket.number, "stage": ticket.stage.value.capitalize()},
        "agent": {"first_name": agent.name.split()[0] if agent.name else ""},
    }


_SAMPLE = {
    "customer": {"name": "Ada Lovelace", "first_name": "Ada"},
    "ticket": {"number": 1, "stage": "Use"},
    "agent": {"first_name": "Sam"},
}


def check_text(text: str) -> None:
    """Refuse a text that names an unknown placeholder or does not render; InvalidMacro says
    which and where."""
    try:
        # Finding the names compiles the text: an unknown filter is refused here too.
        unknown = _unknown_placeholders(_SANDBOX.parse(text))
    except TemplateSyntaxError as broken:
        raise InvalidMacro("text", f"line {broken.lineno}: {broken.message}") from None
    if unknown:
        allowed = ", ".join(f"{{{{ {name} }}}}" for name in PLACEHOLDERS)
        named = ", ".join(f"{{{{ {name} }}}}" for name in unknown)
        raise InvalidMacro("text", f"unknown placeholder {named}; use {allowed}")
    try:
        _SANDBOX.from_string(text).render(_SAMPLE)
    except (TemplateError, SecurityError) as failed:
        raise InvalidMacro("text", f"the text cannot be filled in: {failed}") from None


def _unknown_placeholders(tree: nodes.Template) -> list[str]:
    named: list[str] = []
    reached: set[int] = set()
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        # Anything reached through a value ("customer.name.upper") is unknown too: the values
        # are plain text and numbers, nothing to call or look into.
        named.append(_path(node))
        if isinstance(node.node, nodes.Name):
            reached.add(id(node.node))
    undeclared = meta.find_undeclared_variables(tree)
    for node in tree.find_all(nodes.Name):
        # A bare root ("{{ ticket }}") would print the whole mapping.
        if node.name in undeclared and id(node) not in reached:
            named.append(node.name)
    return list(dict.fromkeys(name for name in named if name not in PLACEHOLDERS))


def _path(node: nodes.Node) -> str:
    """ "customer.name" for the expression customer.name (or customer["name"])."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem):
        key = node.arg.value if isinstance(node.arg, nodes.Const) else "…"
        return f"{_path(node.node)}.{key}"
    return "…"


def _fill(macro: Macro, fields: MacroFields) -> None:
    name = " ".join((fields.name or "").split())
    if not name:
        raise InvalidMacro("name", "a macro needs a name")
    if len(name) > NAME_LENGTH:
        raise InvalidMacro("name", f"a name has at most {NAME_LENGTH} characters")
    text = (fields.text or "").strip()
    if len(text) > NOTE_LIMIT:
        raise InvalidMacro("text", f"a macro text has at most {NOTE_LIMIT:,} characters")
    check_text(text)
    status = _optional(TicketStatus, fields.status, "status")
    priority = _optional(Priority, fields.priority, "priority")
    stage = _optional(Stage, fields.stage, "stage")
    if fields.assignee is not None and not fields.assignee.active:
        raise InvalidMacro("assignee", f"{fields.assignee.email} is deactivated")
    try:
        tags = list(dict.fromkeys(tag_name(tag) for tag in fields.tags))
    except InvalidInput as refused:
        raise InvalidMacro("tags", str(refused)) from None
    if not text and not (status or priority or stage or fields.assignee or tags):
        raise InvalidMacro("text", "a macro needs a text, an action, or both")
    macro.name, macro.text, macro.tags = name, text, tags
    macro.status, macro.priority, macro.stage = status, priority, stage
    macro.assignee = fields.assignee


def _optional(enum, value: str | None, what: str):
    if not value:
        return None
    try:
        return _parse(enum, value, what)
    except InvalidInput as refused:
        raise InvalidMacro(what, str(refused)) from None
