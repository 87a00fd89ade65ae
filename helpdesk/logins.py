"""Who may log in, and how fast strangers may guess: failed logins are counted per account
tried and per client address, and past a few each next attempt waits a doubling delay.

The counts live in the database (every web process and a restart agree on them). A refused
attempt answers at once with the wait; nothing sleeps in the request. Like the other services
this flushes and the caller commits, also when the login is refused: the count must stay.
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk import accounts, audit, two_factor
from helpdesk.extensions import db
from helpdesk.models import LoginThrottle, User, utcnow

# One office behind one address mistypes more than one person does.
ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_DELAY = timedelta(seconds=1)
MAX_DELAY = timedelta(minutes=15)
# After this long without a failure the count starts again from nothing.
FORGET_AFTER = timedelta(hours=1)
WRONG = "Wrong email or password, or the account is deactivated."
WRONG_CODE = "That code is not right (or was used already): type the app's current code."


class LoginRefused(Exception):
    """The login did not happen; the message says why (and how long to wait, when throttled)."""

    def __init__(self, message: str, throttled: bool) -> None:
        super().__init__(message)
        self.throttled = throttled


@dataclass(frozen=True, slots=True)
class _Counter:
    key: str
    free_failures: int
    whose: str  # how the message names it


def authenticate(email: str, password: str, address: str) -> User:
    """The active user with this email and password, or LoginRefused; failures are counted.

    The account's count starts again only when the whole login succeeds (``succeeded``): a
    right password must not wipe the count of wrong two-factor codes.
    """
    email = email.strip().lower()
    user = accounts.user_by_email(email)
    _attempt(email, address, lambda: _password_matches(user, password), WRONG)
    assert user is not None  # _attempt returned: the password was right
    return user


def _password_matches(user: User | None, password: str) -> bool:
    # An unknown or deactivated account is checked against a hash all the same, so the answer
    # takes as long and its time does not tell a stranger which addresses have accounts.
    hashed = user.password_hash if user is not None else _stand_in_hash()
    right = check_password_hash(hashed, password)
    return right and user is not None and user.active


@cache
def _stand_in_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def confirm_code(user: User, code: str, address: str) -> None:
    """Accept the second step's code (app or recovery) or raise LoginRefused, counted alike."""
    _attempt(user.email, address, lambda: two_factor.accepts(user, code), WRONG_CODE)


def succeeded(user: User) -> None:
    """The whole login went through: the account's failures are forgotten."""
    row = db.session.scalar(
        select(LoginThrottle).where(LoginThrottle.key == f"account:{user.email}")
    )
    if row is not None:
        row.failures, row.blocked_until = 0, None
        db.session.flush()


def _attempt(email: str, address: str, passes: Callable[[], bool], wrong: str) -> None:
    """Run the check unless a wait is on; count a failure and raise LoginRefused when it fails."""
    now = utcnow()
    counters = (
        _Counter(f"account:{email}", ACCOUNT_FREE_FAILURES, "for this account"),
        _Counter(f"address:{address}", ADDRESS_FREE_FAILURES, "from your address"),
    )
    rows = [_row(counter.key) for counter in counters]
    for counter, row in zip(counters, rows, strict=True):
        # The right password is refused too while a wait runs, or the wait would defend nothing.
        if row.blocked_until is not None and row.blocked_until > now:
            audit.record(
                "login.throttled",
                "login",
                email[:120],
                after={"address": address, "until": row.blocked_until.isoformat()},
            )
            raise LoginRefused(_wait_message(counter, row.blocked_until - now), throttled=True)
    if passes():
        return
    waits = [
        _count_failure(counter, row, now, email, address)
        for counter, row in zip(counters, rows, strict=True)
    ]
    db.session.flush()
    longest = max(
        ((counter, wait) for counter, wait in zip(counters, waits, strict=True) if wait),
        key=lambda pair: pair[1],
        default=None,
    )
    if longest is None:
        raise LoginRefused(wrong, throttled=False)
    raise LoginRefused(f"{wrong} {_wait_message(*longest)}", throttled=False)


def prune_forgotten(now: datetime | None = None) -> int:
    """Remove the counters no wait holds and whose count is forgotten anyway; how many went.

    Every address and every email anyone types gets a row, so without this the table grows
    with each guess. Commits (a worker job)."""
    at = now or utcnow()
    removed = db.session.execute(
        delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < at - FORGET_AFTER,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < at),
        )
    ).rowcount
    db.session.commit()
    return removed


def _row(key: str) -> LoginThrottle:
    """The counter for ``key``, locked until the commit so parallel failures all count."""
    query = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    row = db.session.scalar(query)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            row = LoginThrottle(key=key, failures=0, last_failure_at=utcnow())
            db.session.add(row)
    except IntegrityError:
        # Another request made the row first: use theirs.
        row = db.session.scalar(query)
    return row


def _count_failure(
    counter: _Counter, row: LoginThrottle, now: datetime, email: str, address: str
) -> timedelta | None:
    """Count one failure; past the free ones, start a wait (audited) and return it."""
    if now - row.last_failure_at > FORGET_AFTER:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    beyond = row.failures - counter.free_failures
    if beyond < 0:
        return None
    # The exponent stops growing long after the cap is reached, so it never overflows.
    wait = min(FIRST_DELAY * 2 ** min(beyond, 20), MAX_DELAY)
    row.blocked_until = now + wait
    audit.record(
        "login.failed",
        "login",
        email[:120],
        after={
            "address": address,
            "counted": counter.key.split(":", 1)[0],
            "failures": row.failures,
            "wait_seconds": int(wait.total_seconds()),
        },
    )
    return wait


def _wait_message(counter: _Counter, wait: timedelta) -> str:
    return f"Too many failed logins {counter.whose}: try again in {_duration(wait)}."


def _duration(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
