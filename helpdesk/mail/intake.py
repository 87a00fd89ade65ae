"""IMAP intake, exactly once.

Per batch, in one transaction: the messages, their raw bytes' log rows and the mailbox's
UIDVALIDITY + UID checkpoint. Bodies are fetched with BODY.PEEK[]; ``\\Seen`` (or the move to the
processed folder) happens only after that commit, and is redone at the next connect if we died
in between. Every UID above the checkpoint is taken whether another client read it or not. A
new UIDVALIDITY restarts the checkpoint; dedupe keys (a hash of the mail's content, equal for
its copies) make the re-sync store nothing twice.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import partial

from imapclient.exceptions import IMAPClientError
from sqlalchemy import insert, or_, select, update

from channels.email.imap import ImapError, ImapFolder
from channels.email.parse import ParsedEmail, ReadMail, read_mail
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import imap_settings, list_mailboxes, own_addresses
from helpdesk.models import InboundEmail, IntakeOutcome, Mailbox, utcnow
from helpdesk.storage import BlobStore, blob_store
from helpdesk.tickets import service
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.mail import EmailIntake, take_email
from helpdesk.transient import is_transient, retried

LEASE = timedelta(minutes=2)
BATCH_SIZE = 50
# A backlog of this many batches or more is parsed in a helper process, ahead of intake.
READ_AHEAD_FROM = 4
# Its own small interpreter: a multiprocessing worker would import our whole main script.
READ_AHEAD_HELPER = [sys.executable, "-m", "channels.email.read_ahead"]

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
        report.skipped = _held_by(mailbox)
        return report
    try:
        with ImapFolder(imap_settings(mailbox)) as folder:
            _take_new_mail(mailbox, folder, worker, report, progress, batch_size)
        mailbox.last_error = None
    except (ImapError, IMAPClientError, OSError) as error:
        db.session.rollback()
        # Our own errors say what happened in words; a library's needs its kind to make sense.
        said = str(error) if isinstance(error, ImapError) else f"{type(error).__name__}: {error}"
        report.error = mailbox.last_error = said[:2000]
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
    chunks = [uids[start : start + batch_size] for start in range(0, len(uids), batch_size)]
    with _Reader(mailbox.address, own_addresses(), ahead=len(chunks) >= READ_AHEAD_FROM) as reader:
        next_batch = reader.read(folder, chunks[0], here=True) if chunks else None
        for number, chunk in enumerate(chunks):
            batch = next_batch()
            if number + 1 < len(chunks):
                # Parsed in the helper process while this batch goes through the ticket service.
                next_batch = reader.read(folder, chunks[number + 1])
            outcomes = retried(
                partial(_take_batch, mailbox, worker, batch, chunk[-1]),
                f"taking in mail of {mailbox.address}",
            )
            for outcome in outcomes:
                report.taken[outcome] = report.taken.get(outcome, 0) + 1
            folder.mark_processed(chunk)
            if progress:
                progress(min((number + 1) * batch_size, len(uids)), len(uids))


def _take_batch(mailbox: Mailbox, worker: str, batch: list[ReadMail], last_uid: int) -> list[str]:
    """Store one batch and move the checkpoint past it, in one transaction; commits."""
    outcomes = ingest_batch(mailbox, batch)
    mailbox.last_uid = last_uid
    mailbox.last_fetch_at = utcnow()
    _commit_under_lease(mailbox, worker)
    return outcomes


class _Reader:
    """Fetches batches off the server and parses them: for a long backlog in a helper process,
    so that parsing the next batch overlaps taking this one in (on a second core)."""

    def __init__(self, endpoint: str, own: set[str], *, ahead: bool) -> None:
        self.endpoint, self.own = endpoint, own
        self._helper = (
            subprocess.Popen(READ_AHEAD_HELPER, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            if ahead
            else None
        )

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop_helper()

    def read(
        self, folder: ImapFolder, uids: list[int], *, here: bool = False
    ) -> Callable[[], list[ReadMail]]:
        """Fetch these messages now; the returned function gives them parsed.

        ``here``: parsed in this process at once (the first batch, while the helper starts).
        """
        raws = folder.fetch(uids)
        fetched = [(uid, raws[uid]) for uid in uids if uid in raws]
        helper = self._helper
        if helper is None or here:
            return self._read_here(fetched)
        try:
            pickle.dump((fetched, self.endpoint, self.own), helper.stdin, pickle.HIGHEST_PROTOCOL)
            helper.stdin.flush()
        except OSError:  # the helper died (killed, out of memory): parse here from now on
            self._stop_helper()
            return self._read_here(fetched)

        def result() -> list[ReadMail]:
            try:
                return pickle.load(helper.stdout)
            except Exception:
                # It died, or answered garbage as it did: parse here from now on.
                self._stop_helper()
                return read_mail(fetched, self.endpoint, self.own)

        return result

    def _read_here(self, fetched: list[tuple[int, bytes]]) -> Callable[[], list[ReadMail]]:
        parsed = read_mail(fetched, self.endpoint, self.own)
        return lambda: parsed

    def _stop_helper(self) -> None:
        helper, self._helper = self._helper, None
        if helper is None:
            return
        # A closed stdin ends it; one stuck in a mail past all patience is killed.
        for stream in (helper.stdin, helper.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()


def ingest_batch(mailbox: Mailbox, batch: list[ReadMail]) -> list[str]:
    """Store one batch of read messages and their tickets; flushes. Returns the outcomes.

    The batch is taken in one go, which is many times cheaper than message by message. Should
    any message fail in it, the whole go is undone and the messages are taken again one by one,
    so only the failing one is quarantined.
    """
    known = set(
        db.session.scalars(
            select(InboundEmail.dedupe_key).where(
                InboundEmail.mailbox_id == mailbox.id,
                InboundEmail.dedupe_key.in_({mail.key for mail in batch}),
            )
        )
    )
    kept = []
    store = blob_store()
    for mail in batch:
        if mail.key not in known:  # else taken before this UIDVALIDITY, or a second copy
            known.add(mail.key)
            kept.append(_keep(mail, store))
    messages = [mail.parsed.message for mail, _ in kept if mail.parsed]
    try:
        # The senders' locks are taken before the savepoint: the retry one by one keeps them.
        with service.intake_batch(messages), db.session.begin_nested():
            intakes = [_store(mailbox, mail, isolated=False) for mail, _ in kept]
            _count(mailbox, intakes)  # before the savepoint's own flush: no second one
    except Exception as error:
        if is_transient(error):
            raise  # the whole batch again, at once (_take_new_mail)
        intakes = [_store(mailbox, mail, isolated=True) for mail, _ in kept]
        _count(mailbox, intakes)
    db.session.flush()
    _log(mailbox, kept, intakes)
    return [intake.outcome.value for intake in intakes]


def _count(mailbox: Mailbox, intakes: list[EmailIntake]) -> None:
    """The mailbox's counts, once for the batch: bumped per mail, each flush updated them."""
    if intakes:
        mailbox.fetched_count += len(intakes)
        mailbox.quarantined_count += sum(
            intake.outcome == IntakeOutcome.QUARANTINED for intake in intakes
        )


# IMAP UIDs start at 1 (RFC 3501): UID 0 marks mail handed in rather than fetched, so it never
# moves a mailbox's checkpoint.
HANDED_IN_UID = 0


def hand_in(mailbox: Mailbox, raw: bytes) -> InboundEmail:
    """Take in one raw email given to us outside IMAP, exactly as a fetch does; flushes.

    Returns its log row (the earlier one when the same mail was taken before).
    """
    if mailbox.uidvalidity is None:
        mailbox.uidvalidity = 0  # the log row needs one; a first real fetch sets the server's
    read = read_mail([(HANDED_IN_UID, raw)], mailbox.address, own_addresses())
    ingest_batch(mailbox, read)
    return db.session.scalars(
        select(InboundEmail).where(
            InboundEmail.mailbox_id == mailbox.id, InboundEmail.dedupe_key == read[0].key
        )
    ).one()


def _keep(mail: ReadMail, store: BlobStore) -> tuple[ReadMail, str]:
    """Store the raw bytes (every inbound email keeps its original) and point the parse at them."""
    raw_ref = store.put(mail.raw)
    if mail.parsed is not None:
        message = replace(mail.parsed.message, raw_ref=raw_ref)
        mail = replace(mail, parsed=replace(mail.parsed, message=message))
    return mail, raw_ref


def _log(mailbox: Mailbox, kept: list[tuple[ReadMail, str]], intakes: list[EmailIntake]) -> None:
    """One row per email taken: its raw bytes' key and what became of it, in one statement."""
    if not kept:
        return
    db.session.execute(
        insert(InboundEmail),
        [
            {
                "mailbox_id": mailbox.id,
                "uidvalidity": mailbox.uidvalidity,
                "uid": mail.uid,
                "dedupe_key": mail.key,
                "message_id_header": _message_id_header(mail),
                "raw_ref": raw_ref,
                "size": len(mail.raw),
                "outcome": intake.outcome,
                "reason": _storable(intake.reason)[:300],
                "message_id": intake.message.id if intake.message else None,
            }
            for (mail, raw_ref), intake in zip(kept, intakes, strict=True)
        ],
    )


def _message_id_header(mail: ReadMail) -> str | None:
    message_id = mail.parsed.message_id if mail.parsed else None
    return _storable(message_id)[:300] if message_id else None


def _storable(text: str) -> str:
    """Text every database stores: an error's words may quote the mail's NULs or broken bytes,
    and a log row that cannot be written would stop the mailbox at this mail."""
    return text.replace("\x00", "").encode("utf-8", "replace").decode("utf-8")


def _store(mailbox: Mailbox, mail: ReadMail, *, isolated: bool) -> EmailIntake:
    """Take one message in; ``isolated``: in a savepoint of its own, quarantined on any error."""
    if mail.parsed is None:
        return EmailIntake(IntakeOutcome.QUARANTINED, mail.problem)
    return _take(mail.parsed, mailbox, isolated)


def _take(parsed: ParsedEmail, mailbox: Mailbox, isolated: bool) -> EmailIntake:
    if not isolated:
        return take_email(parsed, acknowledge=mailbox.acknowledge)
    try:
        # take_email writes only inside savepoints: a failure leaves nothing half-stored.
        return take_email(parsed, acknowledge=mailbox.acknowledge)
    except TicketError as error:
        return EmailIntake(IntakeOutcome.QUARANTINED, str(error))
    except Exception as error:
        if is_transient(error):
            raise  # the database's trouble, not the message's: never quarantined for it
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


def _held_by(mailbox: Mailbox) -> str:
    """Who kept us from the mailbox, as read just after we were refused."""
    # The holder may have let go between our attempt and that read.
    if mailbox.lease_until is None:
        return "another worker held it, and has let it go since"
    return f"{mailbox.lease_owner} holds it until {mailbox.lease_until:%H:%M:%S}"


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
