"""The shapes of the customer-record writes: name and notes, an identity, a merge."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr

from helpdesk.tickets.customer_records import NAME_LENGTH, NOTES_LIMIT
from helpdesk.web.api.schemas import Request, RowId


class CustomerChanges(Request):
    """Name and notes; only the fields sent are written."""

    name: StrictStr | None = Field(
        None, max_length=NAME_LENGTH, description="Null or empty clears it."
    )
    notes: StrictStr | None = Field(
        None,
        max_length=NOTES_LIMIT,
        description="For the team only; the customer never sees them. Null or empty clears them.",
    )
    version: RowId | None = Field(
        None,
        description="The customer's `version` the change was made from: when it moved since, "
        "nothing is written (412 `stale`). Left out, the change applies whatever came between.",
    )


class NewIdentity(Request):
    """An email address or phone number to add to the customer, as a claim until proven."""

    kind: Literal["email", "phone"]
    value: StrictStr = Field(
        min_length=1,
        max_length=254,
        description="An email address, or a phone number with its area code in any common "
        "format (national numbers in `HELPDESK_PHONE_REGION`).",
    )


class NewCustomer(Request):
    """A customer recorded by hand: a name, addresses and numbers, or both."""

    name: StrictStr | None = Field(None, max_length=NAME_LENGTH)
    identities: list[NewIdentity] = Field(
        [],
        max_length=20,
        description="Added unverified, as `POST /customers/{id}/identities` adds them; one "
        "another customer holds is refused with 409 `refused` and nothing is made.",
    )


class CustomerMergeInto(Request):
    """Which customer to merge into."""

    into: RowId = Field(description="The id of the customer that takes everything.")
