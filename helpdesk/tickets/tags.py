"""Tags on tickets: agents add and remove them; the queue, the API and exports read them.

A tag is a short lower-case name ("refund", "vip", "beta-tester"): spaces become dashes, so
"Beta tester" and "beta-tester" are one tag. Each change is written to the ticket's events.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.extensions import db
from helpdesk.models import Tag, Ticket, User, ticket_tags, utcnow
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.events import _flush, _record

TAG_LENGTH = 50
# Letters and digits of any script, and - _ . : inside a name; no commas (filters list tags
# comma-separated) and nothing that needs escaping in a URL path or a CSV cell.
_TAG = re.compile(r"^\w(?:[\w.:-]*\w)?$")


def tag_name(text: str | None) -> str:
    """The tag's name as stored: trimmed, lower case, spaces as dashes; InvalidInput if unfit."""
    name = "-".join((text or "").lower().split())
    if not name:
        raise InvalidInput("a tag needs a name")
    if len(name) > TAG_LENGTH:
        raise InvalidInput(f"a tag has at most {TAG_LENGTH} characters")
    if not _TAG.match(name):
        raise InvalidInput(f"{name!r} is no tag: use letters, digits, and - _ . : between them")
    return name


def add_tag(ticket: Ticket, actor: User | None, text: str, *, at: datetime | None = None) -> str:
    """Put a tag on the ticket (made on first use); its name. Nothing changes if it is there."""
    name = tag_name(text)
    if any(tag.name == name for tag in ticket.tags):
        return name
    at = at or utcnow()
    ticket.tags.append(_tag_named(name, at))
    _record(ticket, actor, "tag", None, name, at)
    ticket.updated_at = at
    _flush()
    return name


def remove_tag(ticket: Ticket, actor: User | None, text: str, *, at: datetime | None = None) -> str:
    """Take a tag off the ticket; its name. Nothing changes if it is not there."""
    name = tag_name(text)
    found = next((tag for tag in ticket.tags if tag.name == name), None)
    if found is None:
        return name
    at = at or utcnow()
    ticket.tags.remove(found)
    _record(ticket, actor, "tag", name, None, at)
    ticket.updated_at = at
    _flush()
    return name


def set_tags(
    ticket: Ticket, actor: User | None, texts: list[str], *, at: datetime | None = None
) -> list[str]:
    """Make the ticket's tags exactly these: the missing added, the others taken off."""
    wanted = list(dict.fromkeys(tag_name(text) for text in texts))
    at = at or utcnow()
    for tag in [tag for tag in ticket.tags if tag.name not in wanted]:
        remove_tag(ticket, actor, tag.name, at=at)
    for name in wanted:
        add_tag(ticket, actor, name, at=at)
    return wanted


def known_tags(limit: int = 500) -> list[str]:
    """Tag names in use, the most used first: what the tag box offers as one types."""
    return [name for name, _ in tag_uses(limit)]


def tag_uses(limit: int = 500) -> list[tuple[str, int]]:
    """Tags in use with how many tickets carry each, the most used first."""
    uses = func.count(ticket_tags.c.ticket_id)
    rows = db.session.execute(
        select(Tag.name, uses)
        .join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .group_by(Tag.name)
        .order_by(uses.desc(), Tag.name)
        .limit(limit)
    )
    return [(name, count) for name, count in rows]


def _tag_named(name: str, at: datetime) -> Tag:
    # A tag is made in a savepoint of its own, so it is in the database once it exists: no
    # need to flush the ticket's pending changes (a bulk change gathers them) to look it up.
    with db.session.no_autoflush:
        existing = db.session.scalar(select(Tag).where(Tag.name == name))
    if existing is not None:
        return existing
    try:
        # Two agents may make the same new tag at once: the name is unique, so one insert wins.
        with db.session.begin_nested():
            tag = Tag(name=name, created_at=at)
            db.session.add(tag)
        return tag
    except IntegrityError:
        return db.session.scalars(select(Tag).where(Tag.name == name)).one()
