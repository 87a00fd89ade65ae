"""An erased customer's refusals outlive them: a number that texted STOP stays unsendable and an
address that unsubscribed gets no outreach, even when the same person writes in again later and
becomes a new customer. Only a keyed hash of the value is kept, so the list names nobody."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper, Session, object_session

from helpdesk.extensions import db
from helpdesk.models import CustomerIdentity, IdentityKind, Suppression

_SUPPRESSIBLE = (IdentityKind.EMAIL, IdentityKind.PHONE)
OPT_OUT_REASON = "texted STOP before (kept when the customer was erased)"
# Session info: what this flush's new identities' refusals are, read once before it inserts.
_READ = "helpdesk refusals read for the flush"


def value_hash(kind: IdentityKind, value: str) -> str:
    """The keyed hash an identity is suppressed under."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{kind.value}:{value}".encode(), hashlib.sha256).hexdigest()


def suppress(identities: Iterable[CustomerIdentity]) -> int:
    """Keep the STOP and unsubscribe of identities about to be erased; how many were kept."""
    kept = 0
    for identity in identities:
        if identity.kind not in _SUPPRESSIBLE:
            continue
        if identity.opted_out_at is None and identity.outreach_unsubscribed_at is None:
            continue
        digest = value_hash(identity.kind, identity.value)
        row = db.session.scalar(
            select(Suppression).where(
                Suppression.kind == identity.kind, Suppression.value_hash == digest
            )
        )
        if row is None:
            row = Suppression(kind=identity.kind, value_hash=digest)
            db.session.add(row)
        row.opted_out_at = row.opted_out_at or identity.opted_out_at
        row.outreach_unsubscribed_at = (
            row.outreach_unsubscribed_at or identity.outreach_unsubscribed_at
        )
        kept += 1
    return kept


@event.listens_for(Session, "before_flush")
def _read_refusals(session: Session, _flush_context: Any, _instances: Any) -> None:
    """The refusals of every address and number the flush adds, in one query instead of one
    each (a batch of mail adds hundreds)."""
    new = [obj for obj in session.new if isinstance(obj, CustomerIdentity | Suppression)]
    wanted = {
        (obj.kind, value_hash(obj.kind, obj.value))
        for obj in new
        if isinstance(obj, CustomerIdentity) and obj.kind in _SUPPRESSIBLE
    }
    if not wanted or any(isinstance(obj, Suppression) for obj in new):
        # A refusal written in this same flush is read row by row, after it is inserted.
        session.info.pop(_READ, None)
        return
    rows = session.execute(
        select(
            Suppression.kind,
            Suppression.value_hash,
            Suppression.opted_out_at,
            Suppression.outreach_unsubscribed_at,
        ).where(Suppression.value_hash.in_({digest for _, digest in wanted}))
    )
    found = {(row.kind, row.value_hash): row for row in rows}
    session.info[_READ] = {key: found.get(key) for key in wanted}


@event.listens_for(CustomerIdentity, "before_insert")
def _carry_refusals(_mapper: Mapper, connection: Connection, identity: CustomerIdentity) -> None:
    """Whichever path adds an address or number (intake, an agent, the API), a suppressed one
    starts out refused again."""
    if identity.kind not in _SUPPRESSIBLE:
        return
    digest = value_hash(identity.kind, identity.value)
    session = object_session(identity)
    read = session.info.get(_READ, {}) if session is not None else {}
    if (identity.kind, digest) in read:
        found = read[(identity.kind, digest)]
    else:
        found = connection.execute(
            select(Suppression.opted_out_at, Suppression.outreach_unsubscribed_at).where(
                Suppression.kind == identity.kind, Suppression.value_hash == digest
            )
        ).first()
    if found is None:
        return
    if found.opted_out_at is not None and identity.opted_out_at is None:
        identity.opted_out_at, identity.opt_out_reason = found.opted_out_at, OPT_OUT_REASON
    if identity.outreach_unsubscribed_at is None:
        identity.outreach_unsubscribed_at = found.outreach_unsubscribed_at
