"""The shapes of ``POST /api/v1/tickets``: a conversation we start, or a request taken on a
customer's behalf."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictBool, StrictStr, model_validator

from helpdesk.models import Stage
from helpdesk.web.api.schemas import Request, RowId

Name = Annotated[StrictStr, Field(max_length=200, description="Their name, for a new customer.")]


class CustomerByEmail(Request):
    """A customer by their email address: the one holding it, created with it when unknown."""

    email: StrictStr
    name: Name | None = None


class CustomerByPhone(Request):
    """A customer by their phone number (E.164): the one holding it, created when unknown."""

    phone: StrictStr
    name: Name | None = None


class NewTicket(Request):
    """A conversation to start (`outbound: true`) or a request to record (`outbound: false`)."""

    customer: RowId | CustomerByEmail | CustomerByPhone = Field(
        description='A customer id, or `{"email": …}` / `{"phone": …, "name": …}` '
        "(found by that proven identity, else created with it)."
    )
    channel: Literal["email", "sms"]
    subject: Annotated[StrictStr, Field(max_length=300)] | None = Field(
        None, description="Email: the subject line (required). Ignored for SMS."
    )
    text: Annotated[StrictStr, Field(min_length=1)] = Field(
        description="`outbound: true`: sent to the customer; `false`: their message."
    )
    stage: Stage | None = Field(
        None,
        description="The journey stage (`stage_source` `api`); left out, the sending "
        "endpoint's default stage, else `unknown`.",
    )
    outbound: StrictBool = Field(
        description="`true`: we start the conversation (proactive); `false`: the text is the "
        "customer's request, taken on their behalf."
    )
    endpoint: StrictStr | None = Field(
        None,
        description="The mailbox address or SMS number to use; left out, the first active "
        "one of the channel.",
    )
    to: StrictStr | None = Field(
        None,
        description="Which of the customer's addresses or numbers to use; left out, their "
        "first (proven first) of the channel.",
    )

    @model_validator(mode="after")
    def _subject_for_email(self) -> NewTicket:
        if self.channel == "email" and not (self.subject or "").strip():
            raise ValueError("subject: an email needs a subject")
        return self
