"""What intake reads before it decides: for one message, or for a whole batch at once.

A single message asks the database each question as it comes. A batch (a mailbox fetch of
fifty mails) asks each kind of question once for all of its messages up front, which is many
times cheaper; an answer read up front is trusted only until the batch itself writes what the
answer is about (a new customer's address, a message that later mail replies to).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, and_, func, or_, select

from channels.base import Channel, InboundMessage
from helpdesk.extensions import db
from helpdesk.models import (
    CustomerIdentity,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    RoutingRule,
    Stage,
    StageRule,
    StageSla,
    Ticket,
)
from helpdesk.stage_model.active import ActiveModel, active_model
from helpdesk.tickets import routing, sla
from helpdesk.tickets.customers import Sender, identities_of, identity_rows, look_up_sender
from helpdesk.tickets.stages import ordered_rules
from helpdesk.tickets.threading import referenced_tickets, subject_token


def touches(msg: InboundMessage) -> set[str]:
    """What the intake of this message reads or writes, as keys one batch can compare."""
    keys = {f"message {hint}" for hint in (msg.external_id, *msg.thread_hints) if hint}
    keys.update(_content_keys(msg))
    keys.add(f"sender {msg.sender.lower()}")
    keys.update(_identity_key(kind, value) for kind, value, _ in identities_of(msg))
    if (number := subject_token(msg.subject)) is not None:
        keys.add(f"ticket {number}")
    if msg.conversation_id:
        keys.add(f"conversation {msg.conversation_id}")
    return keys


def _identity_key(kind: IdentityKind, value: str) -> str:
    return f"identity {kind.value} {value}"


def _content_keys(msg: InboundMessage) -> set[str]:
    return {f"content {msg.content_hash}"} if msg.content_hash else set()


def _same_message(msg: InboundMessage, endpoint: Endpoint) -> ColumnElement[bool]:
    same_id = and_(Message.endpoint_id == endpoint.id, Message.external_id == msg.external_id)
    if msg.content_hash is None:
        return same_id
    # A copy of a mail has its content hash, from whichever mailbox. Mail stored before hashes
    # were kept has none: it is known by its Message-ID alone, as it was then.
    return or_(
        Message.content_hash == msg.content_hash,
        and_(same_id, Message.content_hash.is_(None)),
    )


class IntakeLookups:
    """Intake's questions, each asked of the database; the seldom-changing answers (stage and
    routing rules, service targets, the promoted stage model) are kept for the life of the
    object."""

    def __init__(self) -> None:
        self._rules: list[StageRule] | None = None
        self._routing_rules: list[RoutingRule] | None = None
        self._targets: dict[Stage, StageSla] | None = None
        self._stage_model: ActiveModel | None = None
        self._stage_model_asked = False

    def rules(self) -> list[StageRule]:
        if self._rules is None:
            self._rules = ordered_rules()
        return self._rules

    def routing_rules(self) -> list[RoutingRule]:
        if self._routing_rules is None:
            self._routing_rules = routing.ordered_rules()
        return self._routing_rules

    def targets(self) -> dict[Stage, StageSla]:
        if self._targets is None:
            self._targets = sla.targets()
        return self._targets

    def stage_model(self) -> ActiveModel | None:
        if not self._stage_model_asked:
            self._stage_model = active_model()
            self._stage_model_asked = True
        return self._stage_model

    def stored(self, msg: InboundMessage, endpoint: Endpoint) -> int | None:
        """The id of this message if it was stored before (an email: a copy of it, anywhere)."""
        return db.session.scalar(
            select(Message.id)
            .where(
                Message.direction == Direction.INBOUND,
                Message.channel == msg.channel,
                _same_message(msg, endpoint),
            )
            .limit(1)
        )

    def first_with_id(self, msg: InboundMessage) -> int | None:
        """The first stored email with this one's Message-ID (``external_id``), if any."""
        return db.session.scalar(
            select(func.min(Message.id)).where(
                Message.channel == Channel.EMAIL, Message.external_id == msg.external_id
            )
        )

    def sender(self, msg: InboundMessage) -> Sender:
        return look_up_sender(msg)

    def references(self, msg: InboundMessage) -> dict[str, int]:
        """The stored messages among those it replies to, as Message-ID -> ticket id."""
        return referenced_tickets(msg.thread_hints)


class BatchLookups(IntakeLookups):
    """The same questions for a batch, asked once for all of its messages up front.

    ``wrote`` tells it what the batch has written since; a question about any of that goes to
    the database again (the batch flushes before it asks).
    """

    def __init__(self, messages: Sequence[InboundMessage]) -> None:
        super().__init__()
        self.written: set[str] = set()
        self._known: set[str] = set()  # keys whose answers were read up front
        self._read_stored(messages)
        self._identities = self._read_identities(messages)
        self._references = self._read_references(messages)

    def wrote(self, keys: Iterable[str]) -> None:
        self.written.update(keys)

    def _fresh(self, keys: set[str]) -> bool:
        return keys <= self._known and not keys & self.written

    def stage_model(self) -> ActiveModel | None:
        if not self._stage_model_asked:
            self._stage_model = active_model()
            self._stage_model_asked = True
        return self._stage_model

    def stored(self, msg: InboundMessage, endpoint: Endpoint) -> int | None:
        if not self._fresh({f"message {msg.external_id}", *_content_keys(msg)}):
            return super().stored(msg, endpoint)
        if msg.content_hash in self._copies:
            return self._copies[msg.content_hash]
        key = (msg.channel, endpoint.id, msg.external_id)
        found, content_hash = self._stored.get(key, (None, None))
        return found if msg.content_hash is None or content_hash is None else None

    def first_with_id(self, msg: InboundMessage) -> int | None:
        if not self._fresh({f"message {msg.external_id}"}):
            return super().first_with_id(msg)
        return self._first_with_id.get(msg.external_id)

    def sender(self, msg: InboundMessage) -> Sender:
        wanted = identities_of(msg)
        if not self._fresh({_identity_key(kind, value) for kind, value, _ in wanted}):
            return super().sender(msg)
        pairs = {(kind, value) for kind, value, _ in wanted}
        return Sender(wanted, [row for pair in pairs for row in self._identities.get(pair, ())])

    def references(self, msg: InboundMessage) -> dict[str, int]:
        hints = [hint for hint in msg.thread_hints if hint]
        if not self._fresh({f"message {hint}" for hint in hints}):
            return super().references(msg)
        return {hint: self._references[hint] for hint in hints if hint in self._references}

    def _read_stored(self, messages: Sequence[InboundMessage]) -> None:
        """What ``stored`` and ``first_with_id`` answer, for every message in one query."""
        ids = {msg.external_id for msg in messages if msg.external_id}
        hashes = {msg.content_hash for msg in messages if msg.content_hash}
        self._known.update(f"message {external_id}" for external_id in ids)
        self._known.update(f"content {content_hash}" for content_hash in hashes)
        rows = db.session.execute(
            select(
                Message.id,
                Message.direction,
                Message.channel,
                Message.endpoint_id,
                Message.external_id,
                Message.content_hash,
            )
            .where(or_(Message.external_id.in_(ids), Message.content_hash.in_(hashes)))
            .order_by(Message.id.desc())
        )
        self._stored: dict[tuple, tuple[int, str | None]] = {}
        self._copies: dict[str, int] = {}
        self._first_with_id: dict[str, int] = {}
        # Newest first, so that the first stored of each wins.
        for id_, direction, channel, endpoint, external_id, content_hash in rows:
            if channel == Channel.EMAIL and external_id in ids:
                self._first_with_id[external_id] = id_
            if direction != Direction.INBOUND:
                continue
            if content_hash in hashes:
                self._copies[content_hash] = id_
            if external_id in ids:
                self._stored[(channel, endpoint, external_id)] = (id_, content_hash)

    def _read_identities(
        self, messages: Sequence[InboundMessage]
    ) -> dict[tuple[IdentityKind, str], list[CustomerIdentity]]:
        wanted = {(kind, value) for msg in messages for kind, value, _ in identities_of(msg)}
        self._known.update(_identity_key(kind, value) for kind, value in wanted)
        rows: dict[tuple[IdentityKind, str], list[CustomerIdentity]] = {}
        for row in identity_rows(wanted):
            rows.setdefault((row.kind, row.value), []).append(row)
        return rows

    def _read_references(self, messages: Sequence[InboundMessage]) -> dict[str, int]:
        hints = {hint for msg in messages for hint in msg.thread_hints if hint}
        self._known.update(f"message {hint}" for hint in hints)
        references = referenced_tickets(hints)
        # Loaded now, the tickets wait in the session for the messages that continue them.
        self._tickets = db.session.scalars(
            select(Ticket).where(Ticket.id.in_(set(references.values())))
        ).all()
        return references
