"""Transient database errors: what they are, and trying the work again at once.

A deadlock, a serialization failure or a lost connection says nothing about the work itself:
the same work, run again in a fresh transaction, goes through. The inbox, the outbox and mail
intake run their transactions through ``retried``, so such an error costs a moment instead of
a backoff of many seconds (DESIGN.md "Decisions for the second round").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from helpdesk.extensions import db

# Tries in all, the first included; a fourth in a row would rather wait for the next round.
ATTEMPTS = 3
# deadlock_detected, serialization_failure; class 08 is the connection exceptions.
_SQLSTATES = frozenset({"40P01", "40001"})

T = TypeVar("T")
log = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """True for a database error that the same work, tried again, may well not meet."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate in _SQLSTATES or sqlstate.startswith("08")


def describe(error: BaseException) -> str:
    """One line for the log: the database's own first line, without SQL or traceback."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line}"


def retried(work: Callable[[], T], what: str) -> T:
    """Run ``work`` (one transaction that commits); after a transient error roll back and run
    it again at once, ``ATTEMPTS`` times in all. Any other error, or the last, is raised."""
    for attempt in range(1, ATTEMPTS):
        try:
            return work()
        except DBAPIError as error:
            if not is_transient(error):
                raise
            db.session.rollback()
            log.warning(
                "%s: %s; trying again (%d of %d)", what, describe(error), attempt + 1, ATTEMPTS
            )
    return work()
