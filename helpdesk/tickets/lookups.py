"""What intake reads before it decides: for one message, or for a whole batch at once.

A single message asks the database each question as it comes. A batch (a mailbox fetch of
fifty mails) asks each kind of question once for all of its messages up front, which is many
times cheaper; an answer read up front is trusted only until the batch itself writes what the
answer is about (a new customer's address, a message that later mail replies to).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select

from channels.base import InboundMessage
from helpdesk.extensions import db
from helpdesk.models import (
    CustomerIdentity,
    Direction,
    Endpoint,
    IdentityKind,
    Message,
    Stage,
    StageRule,
    StageSla,
    Ticket,
)
from helpdesk.tickets import sla
from helpdesk.tickets.customers import Sender, identities_of, identity_rows, look_up_sender
from helpdesk.tickets.stages import ordered_rules
from helpdesk.tickets.threading import referenced_tickets, subject_token


def touches(msg: InboundMessage) -> set[str]:
    """What the intake of this message reads or writes, as keys one batch can compare."""
    keys = {f"message {hint}" for hint in (msg.external_id, *msg.thread_hints) if hint}
    keys.add(f"sender {msg.sender.lower()}")
    keys.update(_identity_key(kind, value) for kind, value, _ in identities_of(msg))
    if (number := subject_token(msg.subject)) is not None:
        keys.add(f"ticket {number}")
    if msg.conversation_id:
        keys.add(f"conversation {msg.conversation_id}")
    return keys


def _identity_key(kind: IdentityKind, value: str) -> str:
    return f"identity {kind.value} {value}"


class IntakeLookups:
    """Intake's questions, each asked of the database; the seldom-changing answers (stage rules,
    service targets) are kept for the life of the object."""

    def __init__(self) -> None:
        self._rules: list[StageRule] | None = None
        self._targets: dict[Stage, StageSla] | None = None

    def rules(self) -> list[StageRule]:
        if self._rules is None:
            self._rules = ordered_rules()
        return self._rules

    def targets(self) -> dict[Stage, StageSla]:
        if self._targets is None:
            self._targets = sla.targets()
        return self._targets

    def stored(self, msg: InboundMessage, endpoint: Endpoint) -> int | None:
        """The id of this message if it was stored before."""
        return db.session.scalar(
            select(Message.id).where(
                Message.direction == Direction.INBOUND,
                Message.channel == msg.channel,
                Message.endpoint_id == endpoint.id,
                Message.external_id == msg.external_id,
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
        self._stored = self._read_stored(messages)
        self._identities = self._read_identities(messages)
        self._references = self._read_references(messages)

    def wrote(self, keys: Iterable[str]) -> None:
        self.written.update(keys)

    def _fresh(self, keys: set[str]) -> bool:
        return keys <= self._known and not keys & self.written

    def stored(self, msg: InboundMessage, endpoint: Endpoint) -> int | None:
        if not self._fresh({f"message {msg.external_id}"}):
            return super().stored(msg, endpoint)
        return self._stored.get((msg.channel, endpoint.id, msg.external_id))

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

    def _read_stored(self, messages: Sequence[InboundMessage]) -> dict[tuple, int]:
        ids = {msg.external_id for msg in messages if msg.external_id}
        self._known.update(f"message {external_id}" for external_id in ids)
        rows = db.session.execute(
            select(Message.channel, Message.endpoint_id, Message.external_id, Message.id).where(
                Message.direction == Direction.INBOUND, Message.external_id.in_(ids)
            )
        )
        return {
            (channel, endpoint, external_id): id_ for channel, endpoint, external_id, id_ in rows
        }

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
