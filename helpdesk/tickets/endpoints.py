"""Endpoints: the addresses, numbers and chat sites that messages arrive at."""

from __future__ import annotations

from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Endpoint
from helpdesk.tickets.customers import normalize_email, normalize_phone


def endpoint_for(channel: Channel, address: str) -> Endpoint:
    """The endpoint a message arrived at, registered on first sight so nothing is refused."""
    endpoint = find_endpoint(channel, address)
    if endpoint is None:
        endpoint = Endpoint(
            channel=channel, address=endpoint_address(channel, address), settings={}
        )
        db.session.add(endpoint)
        db.session.flush()
    return endpoint


def find_endpoint(channel: Channel, address: str) -> Endpoint | None:
    """The endpoint registered at this address, or None; raises InvalidInput for a bad one."""
    return db.session.scalar(
        select(Endpoint).where(
            Endpoint.channel == channel, Endpoint.address == endpoint_address(channel, address)
        )
    )


def endpoint_address(channel: Channel, address: str) -> str:
    """The address as endpoints store it: email addresses and phone numbers normalised."""
    address = address.strip()
    if channel == Channel.EMAIL:
        return normalize_email(address)
    if channel == Channel.SMS and address.startswith("+"):
        return normalize_phone(address)
    # Messaging Service SIDs and chat site keys are case-sensitive identifiers.
    return address
