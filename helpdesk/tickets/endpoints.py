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
    key = (channel, endpoint_address(channel, address))
    if (known := _ids_by_address.get(key)) is not None:
        # Often loaded already (a chat request loads its site first): then no query at all.
        endpoint = db.session.get(Endpoint, known)
        if endpoint is not None and (endpoint.channel, endpoint.address) == key:
            return endpoint
    endpoint = db.session.scalar(
        select(Endpoint).where(Endpoint.channel == key[0], Endpoint.address == key[1])
    )
    if endpoint is not None and endpoint.id is not None:
        _ids_by_address[key] = endpoint.id
    return endpoint


# Endpoint ids by (channel, address), kept by each process; checked on every use, since an
# endpoint can be removed and its address registered again under another id.
_ids_by_address: dict[tuple[Channel, str], int] = {}


def endpoint_address(channel: Channel, address: str) -> str:
    """The address as endpoints store it: email addresses and phone numbers normalised."""
    address = address.strip()
    if channel == Channel.EMAIL:
        return normalize_email(address)
    if channel == Channel.SMS and address.startswith("+"):
        return normalize_phone(address)
    # Messaging Service SIDs and chat site keys are case-sensitive identifiers.
    return address
