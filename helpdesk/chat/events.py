"""The live event log: what chat widgets and agents' pages show, replayed by event id.

Events are rows, written in the same transaction as the change they announce, so a view that
resumes "after event N" from any process sees exactly what was committed: nothing lost,
nothing twice. Waking the streams that wait for them is ``helpdesk.chat.hub``'s job.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    Select,
    and_,
    bindparam,
    delete,
    event,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from helpdesk import counters
from helpdesk.extensions import db
from helpdesk.models import ChatEvent, Counter, Direction, Message, Ticket, User, utcnow
from helpdesk.tickets import surveys
from helpdesk.tickets.file_links import file_url

REPLAY_LIMIT = 200
# Replaying "is typing" from a minute ago would show a ghost; only recent ones are sent.
TYPING_SHOWN_FOR = timedelta(seconds=5)
# DESIGN.md: an agent's presence on a ticket expires after 60 s without a beat.
PRESENCE_EXPIRES = timedelta(seconds=60)
QUEUE_KEY = "queue"


class EventKind:
    MESSAGE = "message"
    TYPING = "typing"
    TICKET = "ticket"
    # Agents on a ticket page: "viewing", "writing" or "left"; never sent to a visitor.
    PRESENCE = "presence"
    # A ticket given to an agent by someone else or by the system: that agent is told.
    ASSIGNED = "assigned"


class PresenceState:
    VIEWING = "viewing"
    WRITING = "writing"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Stream:
    """What one live view follows: a visitor's conversation, one ticket, the queue, or what one
    agent is told of (tickets given to them, new chats for their teams)."""

    conversation_id: str | None = None
    ticket_id: int | None = None
    queue: bool = False
    agent_id: int | None = None
    # The agent's teams: new chats of these teams, and of no team, are theirs to hear of.
    team_ids: tuple[int, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The wake-up keys of the events this view shows."""
        keys = []
        if self.conversation_id:
            keys.append(conversation_key(self.conversation_id))
        if self.ticket_id:
            keys.append(ticket_key(self.ticket_id))
        if self.queue or self.agent_id:
            keys.append(QUEUE_KEY)
        if self.agent_id:
            keys.append(agent_key(self.agent_id))
        return tuple(keys)


def conversation_key(conversation_id: str) -> str:
    return f"c:{conversation_id}"


def ticket_key(ticket_id: int) -> str:
    return f"t:{ticket_id}"


def agent_key(user_id: int) -> str:
    return f"u:{user_id}"


def wakeup_keys(
    kind: str, conversation_id: str | None, ticket_id: int | None, assignee_id: int | None
) -> set[str]:
    """The keys of the streams that show an event: the ones its commit wakes."""
    keys = set()
    if conversation_id:
        keys.add(conversation_key(conversation_id))
    if ticket_id:
        keys.add(ticket_key(ticket_id))
    if kind == EventKind.TICKET:
        keys.add(QUEUE_KEY)
    if kind == EventKind.ASSIGNED and assignee_id:
        keys.add(agent_key(assignee_id))
    return keys


# Where an assignment event names its agent, and a new chat its team: read inside the database,
# so an agent's stream selects only its own events.
event_assignee_id = ChatEvent.data["assignee_id"].as_integer()
event_team_id = ChatEvent.data["team_id"].as_integer()


def publish(
    kind: str,
    data: dict[str, Any],
    *,
    ticket_id: int | None = None,
    conversation_id: str | None = None,
) -> None:
    """Log one event; its streams are woken once the caller commits."""
    _publish_all(
        [{"kind": kind, "data": data, "ticket_id": ticket_id, "conversation_id": conversation_id}]
    )


_INSERT = insert(ChatEvent.__table__)
_INSERT_DRAFTS = _INSERT.values(id=-func.nextval("chat_event_drafts"))


def _publish_all(events: list[dict[str, Any]]) -> None:
    """Log events in one statement (an intake batch's messages, say), in their order."""
    at = utcnow()
    rows = [{**event, "created_at": at} for event in events]
    # Ids come from the "chat_event" counter row, locked until commit, so they become visible
    # in id order. PostgreSQL takes that lock inside COMMIT (a deferred trigger, migration
    # 0009) and meanwhile the rows hold stand-ins; SQLite has one writer at a time anyway.
    if db.session.get_bind().dialect.name == "postgresql":
        statement = _INSERT_DRAFTS
    else:
        statement = _INSERT
        for row, event_id in zip(rows, counters.next_values("chat_event", len(rows)), strict=True):
            row["id"] = event_id
    db.session.connection().execute(statement, rows)
    wakeups = db.session.info.setdefault(PENDING_WAKEUPS, set())
    for row in rows:
        assignee_id = row["data"].get("assignee_id")
        wakeups.update(
            wakeup_keys(row["kind"], row["conversation_id"], row["ticket_id"], assignee_id)
        )


def announce_message(message: Message, *, to_visitor: bool) -> None:
    """Show a new message on its ticket's live pages (and, ``to_visitor``, in the chat widget).

    Published by the flush that stores it, when it has its id: an intake batch keeps its one
    flush, and the event still commits with the message.
    """
    _publish_at_flush(partial(_message_event, message, to_visitor))


def announce_assignment(ticket: Ticket, actor: User | None, assignee: User) -> None:
    """Tell ``assignee`` the ticket is now theirs, unless they took it themselves.

    Published with the flush that stores the change, in one statement with whatever else that
    flush announces (a bulk change or an intake batch writes its events at once).
    """
    if actor is not None and actor.id == assignee.id:
        return
    _publish_at_flush(partial(_assignment_event, ticket, actor, assignee.id))


def _assignment_event(ticket: Ticket, actor: User | None, assignee_id: int) -> dict[str, Any]:
    data = {
        "assignee_id": assignee_id,
        "number": ticket.number,
        "subject": _short(ticket.subject),
        "by_id": actor.id if actor else None,
        "by": actor.name if actor else None,
    }
    return {
        "kind": EventKind.ASSIGNED,
        "data": data,
        "ticket_id": ticket.id,
        "conversation_id": None,
    }


# A notification shows a line, not a paragraph.
SHORT_SUBJECT = 120


def _short(subject: str | None) -> str:
    subject = " ".join((subject or "").split())
    return subject if len(subject) <= SHORT_SUBJECT else subject[: SHORT_SUBJECT - 1] + "…"


def _message_event(message: Message, to_visitor: bool) -> dict[str, Any]:
    """A stored message as an event for the agents on its ticket and, ``to_visitor``, its
    visitor."""
    ticket = message.ticket
    from_customer = message.direction == Direction.INBOUND
    if message.from_outsider:
        name = message.sender
    elif from_customer:
        name = ticket.customer.display_name
    elif to_visitor:
        name = agent_name_for_visitors(message.author.name if message.author else None)
    else:
        name = message.author.name if message.author else "Helpdesk"
    event = message_event(
        MessageShown(
            message_id=message.id,
            ticket_id=ticket.id,
            direction=message.direction,
            external_id=message.external_id,
            author_id=message.author_id,
            name=name,
            text=message.text,
            created_at=message.created_at,
            channel=message.channel.value,
            delivery=message.delivery_state.value if message.delivery_state else None,
            outsider=message.from_outsider,
            # The files of a reply, by signed links the visitor's widget may open.
            files=[] if from_customer else _files(message),
        ),
        ticket.conversation_id if to_visitor else None,
    )
    if message.auto_submitted and message.thread_reason == surveys.QUESTION_REASON:
        # The widget draws the scale's buttons under the survey question.
        event["data"]["survey"] = surveys.chat_buttons(message.id)
    return event


@dataclass(frozen=True, slots=True)
class MessageShown:
    """What the live views show of a stored message."""

    message_id: int
    ticket_id: int
    direction: Direction
    external_id: str | None
    author_id: int | None
    name: str
    text: str
    created_at: datetime
    channel: str
    delivery: str | None
    outsider: bool = False
    files: list[dict[str, str]] = field(default_factory=list)


def message_event(shown: MessageShown, conversation_id: str | None) -> dict[str, Any]:
    """The event of a stored message, for its ticket's live pages and, with the ticket's
    ``conversation_id``, its chat visitor."""
    from_customer = shown.direction == Direction.INBOUND
    # The widget's own id for a visitor's message ("<conversation>:<client id>"): it shows
    # the message once, whether it hears of it from its post or from the stream.
    client_id = (shown.external_id or "").partition(":")[2] if from_customer else None
    data = {
        "message_id": shown.message_id,
        "client_id": client_id,
        "from": "visitor" if from_customer else "agent",
        "direction": shown.direction.value,
        "author_id": shown.author_id,
        "name": shown.name,
        "text": shown.text,
        "at": shown.created_at.isoformat(),
        "channel": shown.channel,
        "delivery": shown.delivery,
        "outsider": shown.outsider,
        "files": shown.files,
    }
    return {
        "kind": EventKind.MESSAGE,
        "data": data,
        "ticket_id": shown.ticket_id,
        "conversation_id": conversation_id,
    }


def publish_message(shown: MessageShown, conversation_id: str | None) -> None:
    """Log a message written without the ORM (its id known): ``message_event`` as it stands."""
    _publish_all([message_event(shown, conversation_id)])


def _files(message: Message) -> list[dict[str, str]]:
    return [
        {"name": item.filename, "url": file_url(item)}
        for item in message.attachments
        if item.storage_key
    ]


PENDING_EVENTS = "helpdesk.chat.pending"


def _publish_at_flush(build: Callable[[], dict[str, Any]]) -> None:
    # Built after the flush, when new rows have their ids (a ticket's, a message's).
    db.session.info.setdefault(PENDING_EVENTS, []).append(build)


@event.listens_for(Session, "after_flush_postexec")
def _publish_flushed_events(session: Session, flush_context: Any) -> None:
    pending = session.info.pop(PENDING_EVENTS, ())
    if pending:
        _publish_all([build() for build in pending])


@event.listens_for(Session, "after_soft_rollback")
def _forget_unflushed_events(session: Session, previous_transaction: Any) -> None:
    # A savepoint flushes on entry: what is still pending was added inside it, and is gone.
    session.info.pop(PENDING_EVENTS, None)


def agent_name_for_visitors(author_name: str | None) -> str:
    """How a visitor sees an agent: by first name only ("Support" for no author)."""
    return author_name.split()[0] if author_name else "Support"


def publish_new_ticket(ticket: Ticket) -> None:
    """Tell open queues, and the agents of its team (of everyone: no team), a new chat arrived."""
    data = {
        "ticket_id": ticket.id,
        "number": ticket.number,
        "subject": _short(ticket.subject),
        "team_id": ticket.team_id,
    }
    publish(EventKind.TICKET, data, ticket_id=ticket.id)


def publish_presence(*, ticket: Ticket, user: User, state: str) -> None:
    """An agent's beat on a ticket page: viewing it, writing a reply, or gone."""
    data = {"user_id": user.id, "name": user.name, "state": state, "at": utcnow().isoformat()}
    publish(EventKind.PRESENCE, data, ticket_id=ticket.id)


@dataclass(frozen=True, slots=True)
class Viewer:
    """An agent whose page of a ticket beat in the last minute."""

    user_id: int
    name: str

    @property
    def initials(self) -> str:
        return "".join(word[0] for word in self.name.split()[:2]).upper() or "?"


def ticket_viewers(ticket_id: int, now: datetime | None = None) -> list[Viewer]:
    """Who has the ticket open now, by their latest beat: what a page opened later shows."""
    rows = db.session.scalars(
        select(ChatEvent.data)
        .where(
            ChatEvent.ticket_id == ticket_id,
            ChatEvent.kind == EventKind.PRESENCE,
            ChatEvent.created_at >= (now or utcnow()) - PRESENCE_EXPIRES,
        )
        .order_by(ChatEvent.id)
    )
    latest = {data["user_id"]: data for data in rows}
    return [
        Viewer(data["user_id"], data["name"])
        for data in latest.values()
        if data["state"] != PresenceState.LEFT
    ]


def publish_typing(*, ticket: Ticket, who: str, name: str) -> None:
    """Someone is typing on a chat ticket: ``who`` is "visitor" or "agent"."""
    data = {"who": who, "name": name, "at": utcnow().isoformat()}
    # Each side shows only the other's typing: wake only the streams that show it.
    if who == "visitor":
        publish(EventKind.TYPING, data, ticket_id=ticket.id)
    else:
        publish(EventKind.TYPING, data, conversation_id=ticket.conversation_id)


# What a stream sends of an event. Streams read after every wake-up: plain rows on a bare
# connection, not entities in a session, keep each read cheap.
EVENT_FIELDS = (
    ChatEvent.id,
    ChatEvent.kind,
    ChatEvent.ticket_id,
    ChatEvent.data,
    ChatEvent.created_at,
)


def since(
    connection: Connection, stream: Stream, after: int, limit: int = REPLAY_LIMIT
) -> Sequence[Row]:
    """Events of a stream with ids above ``after``, oldest first."""
    return read_since(connection, events_query(stream, limit), after)


def events_query(stream: Stream, limit: int = REPLAY_LIMIT) -> Select:
    """The query of a stream's events after the id bound as ``after``: made once per stream,
    read after every wake-up with ``read_since``."""
    conditions = []
    if stream.conversation_id:
        conditions.append(ChatEvent.conversation_id == stream.conversation_id)
    if stream.ticket_id:
        conditions.append(ChatEvent.ticket_id == stream.ticket_id)
    if stream.queue:
        conditions.append(ChatEvent.kind == EventKind.TICKET)
    if stream.agent_id:
        assigned = ChatEvent.kind == EventKind.ASSIGNED
        conditions.append(and_(assigned, event_assignee_id == stream.agent_id))
        conditions.append(
            and_(
                ChatEvent.kind == EventKind.TICKET,
                or_(event_team_id.is_(None), event_team_id.in_(stream.team_ids)),
            )
        )
    return (
        select(*EVENT_FIELDS)
        .where(ChatEvent.id > bindparam("after"), or_(*conditions))
        .order_by(ChatEvent.id)
        .limit(limit)
    )


def read_since(connection: Connection, query: Select, after: int) -> Sequence[Row]:
    """The events an ``events_query`` finds after event id ``after``, oldest first."""
    return connection.execute(query, {"after": after}).all()


def latest_id() -> int:
    """The newest event id (0 before the first): where a freshly rendered page resumes."""
    return db.session.scalar(select(Counter.value).where(Counter.name == "chat_event")) or 0


def stale(event: Row, now: datetime | None = None) -> bool:
    """True for typing and presence events too old to show."""
    if event.kind == EventKind.TYPING or (
        event.kind == EventKind.PRESENCE and event.data.get("state") == PresenceState.WRITING
    ):
        return (now or utcnow()) - event.created_at > TYPING_SHOWN_FOR
    if event.kind == EventKind.PRESENCE:
        return (now or utcnow()) - event.created_at > PRESENCE_EXPIRES
    return False


# Typing and presence older than this are never shown (``stale``): kept a while for the record.
PASSING_KEPT = timedelta(hours=1)


def prune_passing_events(now: datetime | None = None) -> None:
    """Delete typing and presence events nobody is shown again (a periodic job); commits.

    Open ticket pages beat every 25 s and typing is sent every few seconds: without this the
    log would grow by every beat. Ids are never reused, so a stream resuming after them is fine.
    """
    db.session.execute(
        delete(ChatEvent).where(
            ChatEvent.kind.in_((EventKind.TYPING, EventKind.PRESENCE)),
            ChatEvent.created_at < (now or utcnow()) - PASSING_KEPT,
        )
    )
    db.session.commit()


def as_sse(event: Row) -> str:
    """One server-sent event; the id is what the browser sends back as Last-Event-ID."""
    payload = {"type": event.kind, "ticket_id": event.ticket_id, **event.data}
    return f"id: {event.id}\nevent: {event.kind}\ndata: {json.dumps(payload)}\n\n"


PENDING_WAKEUPS = "helpdesk.chat.wakeups"


def take_pending_wakeups(session: Session) -> set[str]:
    """The keys whose streams the transaction just committed should wake, forgotten after."""
    return session.info.pop(PENDING_WAKEUPS, set())
