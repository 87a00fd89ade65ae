"""Campaigns: one outreach message to a segment of customers, each on a ticket of their own.

A segment is the customers with a ticket at a journey stage created within a range of days (in
``HELPDESK_TIMEZONE``), or with a ticket carrying a tag; merged tickets do not count. The
preview says who would receive it and how many are left out, and why: the number texted STOP,
the address unsubscribed, or no proven address or number on the channel (an address only
typed into a chat is nobody's to mail in bulk).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    Campaign,
    Customer,
    CustomerIdentity,
    Endpoint,
    IdentityKind,
    Stage,
    Tag,
    Ticket,
    User,
    utcnow,
)
from helpdesk.tickets import outreach
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.filter_values import start_of_day
from helpdesk.tickets.tags import tag_name


@dataclass(frozen=True, slots=True)
class Segment:
    """Customers with a ticket at ``stage`` created from ``first_day`` to ``last_day``, or with
    a ticket tagged ``tag``."""

    stage: Stage | None = None
    first_day: date | None = None
    last_day: date | None = None
    tag: str | None = None

    @classmethod
    def of(
        cls,
        stage: Stage | None = None,
        first_day: date | None = None,
        last_day: date | None = None,
        tag: str | None = None,
    ) -> Segment:
        """A segment by stage and days or by tag (exactly one); InvalidInput says what is amiss."""
        if tag is not None:
            return cls(tag=tag_name(tag))
        if stage is None:
            raise InvalidInput("choose a journey stage (with its days) or a tag")
        if first_day is None or last_day is None:
            raise InvalidInput("a stage segment needs its first and last day")
        if last_day < first_day:
            raise InvalidInput("the last day comes before the first")
        return cls(stage=stage, first_day=first_day, last_day=last_day)

    @classmethod
    def from_json(cls, data: dict) -> Segment:
        """The segment a campaign row recorded (``as_json``)."""
        if "tag" in data:
            return cls(tag=data["tag"])
        return cls(
            stage=Stage(data["stage"]),
            first_day=date.fromisoformat(data["from"]),
            last_day=date.fromisoformat(data["to"]),
        )

    def describe(self) -> str:
        """The segment in words, as campaign lists show it."""
        if self.tag:
            return f"tickets tagged {self.tag}"
        return f"{self.stage.value} tickets from {self.first_day} to {self.last_day}"

    def as_json(self) -> dict:
        """The segment as a campaign row records it."""
        if self.tag:
            return {"tag": self.tag}
        return {"stage": self.stage.value, "from": str(self.first_day), "to": str(self.last_day)}

    def customer_ids(self) -> list[int]:
        """The customers in the segment, by id."""
        query = select(Ticket.customer_id).where(Ticket.merged_into_id.is_(None)).distinct()
        if self.tag:
            query = query.where(Ticket.tags.any(Tag.name == self.tag))
        else:
            timezone = current_app.config["HELPDESK_TIMEZONE"]
            query = query.where(
                Ticket.stage == self.stage,
                Ticket.created_at >= start_of_day(self.first_day, timezone),
                Ticket.created_at < start_of_day(self.last_day + timedelta(days=1), timezone),
            )
        return sorted(db.session.scalars(query))


@dataclass(slots=True)
class Preview:
    """Who a campaign would reach on a channel, and how many it leaves out, by reason."""

    recipients: list[tuple[Customer, CustomerIdentity]] = field(default_factory=list)
    opted_out: int = 0
    unsubscribed: int = 0
    no_identity: int = 0

    @property
    def left_out(self) -> int:
        return self.opted_out + self.unsubscribed + self.no_identity


def preview(segment: Segment, channel: Channel) -> Preview:
    """Who would receive a campaign to this segment on this channel; reads only."""
    kind = outreach.KIND_OF.get(channel)
    if kind is None:
        raise InvalidInput("campaigns go by email or sms")
    found = Preview()
    ids = segment.customer_ids()
    for customer in db.session.scalars(select(Customer).where(Customer.id.in_(ids))):
        identity = _proven(customer, kind)
        if identity is None:
            found.no_identity += 1
        elif outreach.outreach_block(identity) is None:
            found.recipients.append((customer, identity))
        elif kind == IdentityKind.PHONE:
            found.opted_out += 1
        else:
            found.unsubscribed += 1
    found.recipients.sort(key=lambda pair: pair[0].id)
    return found


def send(
    segment: Segment,
    channel: Channel,
    text: str,
    by: User,
    *,
    subject: str | None = None,
    stage: Stage,
    endpoint: Endpoint | None = None,
    at: datetime | None = None,
) -> Campaign:
    """Start one conversation per recipient of the segment, each at the endpoint's rate."""
    at = at or utcnow()
    endpoint = outreach.sending_endpoint(channel, endpoint)
    reached = preview(segment, channel)
    if not reached.recipients:
        raise InvalidInput("nobody in this segment can receive it")
    campaign = Campaign(
        created_by=by,
        created_at=at,
        channel=channel,
        endpoint=endpoint,
        subject=subject,
        text=text,
        stage=stage,
        segment=segment.as_json(),
        recipients=len(reached.recipients),
        opted_out=reached.opted_out,
        unsubscribed=reached.unsubscribed,
        no_identity=reached.no_identity,
    )
    db.session.add(campaign)
    db.session.flush()
    why = f"by {by.name} in campaign {campaign.id}"
    for customer, identity in reached.recipients:
        draft = outreach.Draft(customer, channel, text, subject, stage, identity.value, endpoint)
        outreach.start_conversation(draft, by, why=why, at=at)
    return campaign


def recent(limit: int = 20) -> list[Campaign]:
    """The latest campaigns, newest first."""
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(limit)))


def _proven(customer: Customer, kind: IdentityKind) -> CustomerIdentity | None:
    return next((i for i in customer.identities if i.kind == kind and i.verified), None)
