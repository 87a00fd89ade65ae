"""Transient database errors: what they are, and trying the work again at once.

A deadlock, a serialization failure, a lost connection or a database restarting says nothing
about the work itself: the same work, run again in a fresh transaction, goes through. The
inbox, the outbox and mail intake run their transactions through ``retried``, so such an error
costs a moment instead of a backoff of many seconds (DESIGN.md "Decisions for the second
round"); work whose loss would cost more (a provider's answer) waits out a short outage.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from helpdesk.extensions import db

# Tries in all, the first included; a fourth in a row would rather wait for the next round.
ATTEMPTS = 3
# deadlock_detected, serialization_failure; class 08 is the connection exceptions; admin and
# crash shutdown, and "the database system is starting up" (a restart).
_SQLSTATES = frozenset({"40P01", "40001", "57P01", "57P02", "57P03"})
# Pauses between tries while waiting out an outage: doubling, at most this long.
_FIRST_PAUSE = 0.25
_LONGEST_PAUSE = 5.0

T = TypeVar("T")
log = logging.getLogger(__name__)


def is_transient(error: BaseException) -> bool:
    """True for a database error that the same work, tried again, may well not meet."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    # Read from the loaded modules, not imported: a process on SQLite never loads psycopg (a
    # tenth of a second of every command's start), and then no error of its can reach here.
    psycopg = sys.modules.get("psycopg")
    if (
        psycopg is not None
        and isinstance(error.orig, psycopg.OperationalError)
        and error.orig.sqlstate is None
    ):
        return True  # no server answered: refused, reset, or gone mid-query
    sqlstate = getattr(error.orig, "sqlstate", None) or ""
    return sqlstate in _SQLSTATES or sqlstate.startswith("08")


def describe(error: BaseException) -> str:
    """One line for the log: the database's own first line, without SQL or traceback."""
    cause = error.orig if isinstance(error, DBAPIError) else error
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first_line}"


def log_failure(logger: logging.Logger, what: str, error: BaseException) -> None:
    """Log work that failed: one line for the database's passing trouble (the next round tries
    again), the whole traceback for anything else."""
    if is_transient(error):
        logger.warning("%s: %s", what, describe(error))
    else:
        logger.error("%s failed", what, exc_info=error)


def retried(work: Callable[[], T], what: str, patience: float = 0.0) -> T:
    """Run ``work`` (one transaction that commits); after a transient error roll back and run
    it again at once, ``ATTEMPTS`` times in all, then with growing pauses until ``patience``
    seconds have passed. Any other error, or the last, is raised."""
    give_up_at = time.monotonic() + patience
    pause = _FIRST_PAUSE
    attempt = 1
    while True:
        try:
            return work()
        except DBAPIError as error:
            waiting = attempt >= ATTEMPTS
            if not is_transient(error) or (waiting and time.monotonic() + pause > give_up_at):
                raise
            db.session.rollback()
            log.warning("%s: %s; trying again (attempt %d)", what, describe(error), attempt + 1)
            if waiting:
                time.sleep(pause)
                pause = min(pause * 2, _LONGEST_PAUSE)
            attempt += 1
