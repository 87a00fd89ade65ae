"""IMAP intake, exactly once.

Per batch, in one transaction: the messages, their raw bytes' log rows and the mailbox's
UIDVALIDITY + UID checkpoint. Bodies are fetched with BODY.PEEK[]; ``\\Seen`` (or the move to the
processed folder) happens only after that commit, and is redone at the next connect if we died
in between. Every UID above the checkpoint is taken whether another client read it or not. A
new UIDVALIDITY restarts the checkpoint; dedupe keys (Message-ID + content hash) make the
re-sync store nothing twice.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from imapclient.exceptions import IMAPClientError
from sqlalchemy import insert, or_, select, update

from channels.email.imap import ImapError, ImapFolder
from channels.email.parse import EmailParseError, ParsedEmail, dedupe_key, parse_email
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import imap_settings, list_mailboxes, own_addresses
from helpdesk.models import InboundEmail, IntakeOutcome, Mailbox, utcnow
from helpdesk.storage import blob_store
from helpdesk.tickets import service
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.mail import EmailIntake, take_email

LEASE = timedelta(minutes=2)
BATCH_SIZE = 50

Progress = Callable[[int, int], None]


class LeaseLost(Exception):
    """Another worker holds the mailbox now; our uncommitted batch is dropped, nothing lost."""


@dataclass(slots=True)
class FetchReport:
    """What one fetch of one mailbox did."""

    address: str
    taken: dict[str, int]
    error: str | None = None
    skipped: str | None = None

    @property
    def total(self) -> int:
        return sum(self.taken.values())

    def __str__(self) -> str:
        if self.skipped:
            return f"{self.address}: skipped, {self.skipped}"
        counts = ", ".join(f"{count} {outcome}" for outcome, count in self.taken.items())
        result = f"{self.address}: {self.total} new ({counts or 'nothing'})"
        return f"{result}; error: {self.error}" if self.error else result


def default_worker_name() -> str:
    """host:pid, so a lease left by a killed process on this host can be recognised."""
    return f"{socket.gethostname()}:{os.getpid()}"


def fetch_all(
    worker: str,
    progress: Callable[[Mailbox], Progress | None] = lambda mailbox: None,
    batch_size: int = BATCH_SIZE,
) -> list[FetchReport]:
    """Fetch every enabled mailbox once; commits."""
    ids = [mailbox.id for mailbox in list_mailboxes() if mailbox.enabled]
    db.session.rollback()
    reports = []
    for mailbox_id in ids:
        mailbox = db.session.get(Mailbox, mailbox_id)
        reports.append(fetch_mailbox(mailbox, worker, progress(mailbox), batch_size))
    return reports


def fetch_mailbox(
    mailbox: Mailbox,
    worker: str,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> FetchReport:
    """Take in everything new in one mailbox under its lease; commits per batch."""
    report = FetchReport(mailbox.address, {})
    if not acquire_lease(mailbox, worker):
        report.skipped = f"{mailbox.lease_owner} holds it until {mailbox.lease_until:%H:%M:%S}"
        return report
    try:
        with ImapFolder(imap_settings(mailbox)) as folder:
            _take_new_mail(mailbox, folder, worker, report, progress, batch_size)
        mailbox.last_error = None
    except (ImapError, IMAPClientError, OSError) as error:
        db.session.rollback()
        report.error = mailbox.last_error = f"{type(error).__name__}: {error}"[:2000]
        mailbox.last_error_at = utcnow()
    except LeaseLost:
        db.session.rollback()
        report.error = "another worker took the mailbox over"
        return report
    mailbox.last_fetch_at = utcnow()
    _release_lease(mailbox, worker)
    db.session.commit()
    return report


def _take_new_mail(
    mailbox: Mailbox,
    folder: ImapFolder,
    worker: str,
    report: FetchReport,
    progress: Progress | None,
    batch_size: int,
) -> None:
    if mailbox.uidvalidity != folder.uidvalidity:
        # The server renumbered the folder (or it is a new mailbox): read it all again.
        mailbox.uidvalidity, mailbox.last_uid = folder.uidvalidity, 0
        _commit_under_lease(mailbox, worker)
    folder.mark_processed(folder.unprocessed_upto(mailbox.last_uid))
    uids = folder.uids_after(mailbox.last_uid)
    own = own_addresses()
    for start in range(0, len(uids), batch_size):
        chunk = uids[start : start + batch_size]
        raws = folder.fetch(chunk)
        fetched = [(uid, raws[uid]) for uid in chunk if uid in raws]
        for outcome in ingest_batch(mailbox, fetched, own):
            report.taken[outcome] = report.taken.get(outcome, 0) + 1
        mailbox.last_uid = chunk[-1]
        mailbox.last_fetch_at = utcnow()
        _commit_under_lease(mailbox, worker)
        folder.mark_processed(chunk)
        if progress:
            progress(start + len(chunk), len(uids))


def ingest_batch(mailbox: Mailbox, batch: list[tuple[int, bytes]], own: set[str]) -> list[str]:
    """Store one batch of raw messages and their tickets; flushes. Returns the outcomes.

    The batch is taken in one go, which is many times cheaper than message by message. Should
    any message fail in it, the whole go is undone and the messages are taken again one by one,
    so only the failing one is quarantined.
    """
    keys = {uid: dedupe_key(raw) for uid, raw in batch}
    known = set(
        db.session.scalars(
            select(InboundEmail.dedupe_key).where(
                InboundEmail.mailbox_id == mailbox.id,
                InboundEmail.dedupe_key.in_(set(keys.values())),
            )
        )
    )
    arrivals = []
    for uid, raw in batch:
        if keys[uid] not in known:  # else taken before this UIDVALIDITY, or a second copy
            known.add(keys[uid])
            arrivals.append(_arrive(mailbox, uid, raw, keys[uid], own))
    messages = [arrival.parsed.message for arrival in arrivals if arrival.parsed]
    try:
        with db.session.begin_nested(), service.intake_batch(messages):
            intakes = [_store(mailbox, arrival, isolated=False) for arrival in arrivals]
    except Exception:
        intakes = [_store(mailbox, arrival, isolated=True) for arrival in arrivals]
    db.session.flush()
    _log(mailbox, arrivals, intakes)
    return [intake.outcome.value for intake in intakes]


def _log(mailbox: Mailbox, arrivals: list[_Arrival], intakes: list[EmailIntake]) -> None:
    """One row per email taken: its raw bytes' key and what became of it, in one statement."""
    if not arrivals:
        return
    db.session.execute(
        insert(InboundEmail),
        [
            {
                "mailbox_id": mailbox.id,
                "uidvalidity": mailbox.uidvalidity,
                "uid": arrival.uid,
                "dedupe_key": arrival.key,
                "message_id_header": arrival.message_id[:300] if arrival.message_id else None,
                "raw_ref": arrival.raw_ref,
                "size": arrival.size,
                "outcome": intake.outcome,
                "reason": intake.reason[:300],
                "message_id": intake.message.id if intake.message else None,
            }
            for arrival, intake in zip(arrivals, intakes, strict=True)
        ],
    )


@dataclass(frozen=True, slots=True)
class _Arrival:
    """One raw message, kept and parsed: ``parsed`` is None when it could not be."""

    uid: int
    key: str
    raw_ref: str
    size: int
    parsed: ParsedEmail | None
    problem: str = ""

    @property
    def message_id(self) -> str | None:
        return self.parsed.message_id if self.parsed else None


def _arrive(mailbox: Mailbox, uid: int, raw: bytes, key: str, own: set[str]) -> _Arrival:
    raw_ref = blob_store().put(raw)
    try:
        parsed = parse_email(
            raw, endpoint=mailbox.address, own_addresses=own, raw_ref=raw_ref, key=key
        )
    except EmailParseError as error:
        return _Arrival(uid, key, raw_ref, len(raw), None, str(error))
    except Exception as error:
        # A message no code path expected must not stop the mailbox: keep it for an admin.
        return _Arrival(uid, key, raw_ref, len(raw), None, f"{type(error).__name__}: {error}")
    return _Arrival(uid, key, raw_ref, len(raw), parsed)


def _store(mailbox: Mailbox, arrival: _Arrival, *, isolated: bool) -> EmailIntake:
    """Take one message in; ``isolated``: in a savepoint of its own, quarantined on any error."""
    if arrival.parsed is None:
        intake = EmailIntake(IntakeOutcome.QUARANTINED, arrival.problem)
    else:
        intake = _take(arrival.parsed, mailbox, isolated)
    if intake.outcome == IntakeOutcome.QUARANTINED:
        mailbox.quarantined_count += 1
    mailbox.fetched_count += 1
    return intake


def _take(parsed: ParsedEmail, mailbox: Mailbox, isolated: bool) -> EmailIntake:
    if not isolated:
        return take_email(parsed, acknowledge=mailbox.acknowledge)
    try:
        # take_email writes only inside savepoints: a failure leaves nothing half-stored.
        return take_email(parsed, acknowledge=mailbox.acknowledge)
    except TicketError as error:
        return EmailIntake(IntakeOutcome.QUARANTINED, str(error))
    except Exception as error:
        # A message no code path expected must not stop the mailbox: keep it for an admin.
        return EmailIntake(IntakeOutcome.QUARANTINED, f"{type(error).__name__}: {error}")


# --- the mailbox lease ------------------------------------------------------------------------


def acquire_lease(mailbox: Mailbox, worker: str, now: datetime | None = None) -> bool:
    """Hold the mailbox for ``LEASE``; a lease of a dead process on this host is taken over."""
    at = now or utcnow()
    holder = db.session.scalar(select(Mailbox.lease_owner).where(Mailbox.id == mailbox.id))
    stale = [holder] if holder and _is_dead_local_process(holder) else []
    taken = db.session.execute(
        update(Mailbox)
        .where(
            Mailbox.id == mailbox.id,
            or_(
                Mailbox.lease_until.is_(None),
                Mailbox.lease_until <= at,
                Mailbox.lease_owner.in_([worker, *stale]),
            ),
        )
        .values(lease_owner=worker, lease_until=at + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    db.session.refresh(mailbox)
    return taken == 1


def _commit_under_lease(mailbox: Mailbox, worker: str) -> None:
    """Commit the batch only while we still hold the lease, and extend it."""
    db.session.flush()
    renewed = db.session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox.id, Mailbox.lease_owner == worker)
        .values(lease_until=utcnow() + LEASE)
        .execution_options(synchronize_session=False)
    ).rowcount
    if renewed != 1:
        raise LeaseLost(mailbox.address)
    db.session.commit()


def _release_lease(mailbox: Mailbox, worker: str) -> None:
    db.session.execute(
        update(Mailbox)
        .where(Mailbox.id == mailbox.id, Mailbox.lease_owner == worker)
        .values(lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _is_dead_local_process(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
