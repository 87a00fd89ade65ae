"""The API's shapes for a customer's erasure."""

from __future__ import annotations

from dataclasses import fields

from pydantic import create_model

from helpdesk.privacy import Erasure as ErasureCounts
from helpdesk.web.api.schemas import Response

# The service's counts, field for field: the answer can never leave one out.
Erasure = create_model(
    "Erasure",
    __base__=Response,
    __doc__="What erasing the customer removed or blanked, counted by kind; nothing personal.",
    **{field.name: (int, ...) for field in fields(ErasureCounts)},
)
