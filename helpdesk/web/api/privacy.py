"""API views to export a customer's data and to erase a customer (admin tokens only)."""

from __future__ import annotations

from pydantic import BaseModel
from werkzeug.wrappers import Response

from helpdesk import privacy
from helpdesk.extensions import db
from helpdesk.models import Customer, TokenScope
from helpdesk.web.admin.privacy import zip_response
from helpdesk.web.api import bp, privacy_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import found
from helpdesk.web.api.openapi import operation


@bp.get("/customers/<int:customer_id>/export")
@operation(
    "exportCustomer",
    (200, None, "A zip (application/zip)."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def export_customer(customer_id: int) -> Response:
    """Everything held about a customer, as a zip (admins)

    `customer.json` holds the customer, their identities, tickets with messages (text, HTML,
    addresses, Message-IDs), events and survey, chat conversations and their events, SMS inbox
    items, the mail log rows and the audit entries about them; `files/` holds their attachments
    and raw emails (`.eml`), each named by its SHA-256, which the JSON refers to. Audited.
    """
    customer = _customer(customer_id)
    archive = privacy.export_customer(customer)
    db.session.commit()
    return zip_response(archive, customer)


@bp.post("/customers/<int:customer_id>/erase")
@operation(
    "eraseCustomer",
    (200, privacy_schemas.Erasure, "How much was removed or blanked, by kind."),
    (401, 403, 404, 422),
    scope=TokenScope.ADMIN,
)
def erase_customer(customer_id: int) -> BaseModel:
    """Erase a customer's personal data, keeping their tickets as anonymous rows (admins)

    Message texts and HTML, raw emails, attachments no other customer's ticket shares,
    identities, chat visitor data and events, SMS inbox items, quarantined mail from their
    addresses, search index entries, survey comments and personal values in the audit trail go;
    the tickets keep stage, channel, status, times, SLA, team, assignee and survey scores, so the
    reports' figures stay the same. The customer stays as "Erased customer"; mail or texts from
    their address or number later make a new customer. 422 `refused` when erased already.
    Audited with the counts only.
    """
    customer = _customer(customer_id)
    erasure = privacy.erase_customer(customer)
    db.session.commit()
    return privacy_schemas.Erasure.model_validate(erasure)


def _customer(customer_id: int) -> Customer:
    require_role(ADMINS, "exporting and erasing customers is for admins")
    return found(Customer, customer_id, "customer")
