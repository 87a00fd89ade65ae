"""`helpdesk worker`: send the outbox and run periodic jobs, once or until told to stop."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext

from helpdesk import logins
from helpdesk.chat.events import prune_passing_events
from helpdesk.extensions import db
from helpdesk.inbox import IntakeSummary, process_due
from helpdesk.mail.intake import default_worker_name, fetch_all
from helpdesk.mail.watch import listen_for_mail
from helpdesk.media import fetch_due
from helpdesk.outbox import RunSummary, run_due
from helpdesk.stage_model.schedule import CHECK_SECONDS, Retrainer
from helpdesk.tickets import assignment, sla, trash
from helpdesk.transient import log_failure
from helpdesk.webhooks.delivery import Dispatcher, deliver_due

T = TypeVar("T")
# A backlog of texts is taken in this many seconds at a time: between two turns the worker
# sends the outbox and runs its other jobs, so agents' replies never wait for the backlog.
INTAKE_TURN_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    """Work a worker does every ``interval`` seconds besides the outbox; it commits itself.

    When ``wake`` is set (an IMAP IDLE push), the job runs at the next turn instead.
    """

    name: str
    interval: float
    run: Callable[[], object]
    wake: threading.Event | None = None


def periodic_jobs(
    wake: threading.Event | None = None, once: bool = False
) -> tuple[PeriodicJob, ...]:
    """Every job a worker runs. Every worker process runs them, so each must be safe to run in
    several at once (mailboxes are fetched under a lease row in the database, webhook payloads
    and MMS media are claimed with row locks, the SLA check and the pruning are idempotent,
    assignment holds each team's and agent's lock while it hands out tickets, the stage
    dashboard's changes are folded by one worker at a time (see reports/rollup_rows.py and
    journey_rows.py), webhook endpoints are worked under a lease in their row, the trash is
    purged with row locks; two workers may each train a stage model at the same turn, and the
    promotion rule keeps the better).
    ``once``: each job has finished when it returns (webhooks are sent and a due retrain is done
    before the job ends instead of in the background)."""
    # Here, not at the top: every command's app loads this module, and a mailbox fetch has no
    # use for the folding (nor for numpy, which it needs).
    from helpdesk.reports import journey_rows
    from helpdesk.reports.rollup_rows import fold_due

    name = default_worker_name()
    retrainer = Retrainer()
    poll = current_app.config["HELPDESK_MAIL_POLL_SECONDS"]
    return (
        PeriodicJob("mailboxes", poll, _fetch_mailboxes, wake),
        PeriodicJob(
            "taking in webhook payloads",
            interval=0.0,
            run=process_due if once else partial(process_due, budget=INTAKE_TURN_SECONDS),
        ),
        PeriodicJob("fetching MMS media", interval=5.0, run=fetch_due),
        PeriodicJob("recording SLA breaches", interval=60, run=sla.record_breaches),
        PeriodicJob("folding the stage dashboard's changes", interval=5.0, run=fold_due),
        PeriodicJob("folding the journey flow's changes", interval=5.0, run=journey_rows.fold_due),
        PeriodicJob("assigning waiting tickets", interval=1.0, run=assignment.run_due),
        PeriodicJob("pruning typing and presence", interval=600, run=prune_passing_events),
        PeriodicJob("purging the trash", interval=3600, run=trash.purge_expired),
        PeriodicJob("forgetting old failed logins", interval=3600, run=logins.prune_forgotten),
        # Returns at once: each endpoint is sent to in a thread of its own (see the module).
        PeriodicJob(
            "delivering webhooks",
            interval=1.0,
            run=partial(deliver_due, name) if once else Dispatcher(name).run,
        ),
        # Returns at once: a due retrain runs in a thread of its own.
        PeriodicJob(
            "retraining the stage model",
            interval=CHECK_SECONDS,
            run=retrainer.run_and_wait if once else retrainer.run,
        ),
    )


def _fetch_mailboxes() -> None:
    for report in fetch_all(default_worker_name()):
        if report.total or report.error:
            click.echo(str(report))


def run_once(name: str, jobs: tuple[PeriodicJob, ...] | None = None) -> RunSummary:
    """Send everything due and run every periodic job once."""
    summary = run_due(name)
    for job in periodic_jobs(once=True) if jobs is None else jobs:
        job.run()
    return summary


def serve(
    name: str,
    interval: float,
    stop: threading.Event,
    jobs: tuple[PeriodicJob, ...] | None = None,
) -> None:
    """Poll until ``stop`` is set; a message being sent is finished first."""
    jobs = periodic_jobs() if jobs is None else jobs
    last_run: dict[str, float] = {}
    while not stop.is_set():
        summary = _guarded("sending the outbox", lambda: run_due(name, should_stop=stop.is_set))
        if summary and summary.total:
            click.echo(f"{name}: {summary}")
        behind = False
        for job in jobs:
            if stop.is_set():
                break
            woken = job.wake is not None and job.wake.is_set()
            if woken or time.monotonic() - last_run.get(job.name, float("-inf")) >= job.interval:
                if job.wake is not None:
                    job.wake.clear()
                last_run[job.name] = time.monotonic()
                done = _guarded(job.name, job.run)
                behind = behind or (isinstance(done, IntakeSummary) and done.more_due)
        # Texts left from a turn of intake: the next turn starts at once.
        stop.wait(0 if behind else interval)


def _guarded(what: str, work: Callable[[], T]) -> T | None:
    """Run one piece of work; a failure is logged and the worker lives on to retry it."""
    try:
        return work()
    except Exception as error:
        db.session.rollback()
        log_failure(current_app.logger, f"worker: {what}", error)
        return None


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set by Ctrl-C or SIGTERM, so a long-running command can finish cleanly."""
    stop = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stop.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@click.command("worker")
@click.option("--once", is_flag=True, help="Do everything due now, then exit.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds to wait between polls.",
)
@click.option(
    "--name",
    default=lambda: f"{socket.gethostname()}:{os.getpid()}",
    show_default="host:pid",
    help="Name recorded on each delivery attempt.",
)
@with_appcontext
def command(once: bool, interval: float, name: str) -> None:
    """Send queued outbound messages and run periodic jobs."""
    if once:
        click.echo(str(run_once(name)))
        return
    click.echo(f"{name}: working; stop with Ctrl-C or SIGTERM")
    with stop_on_signals() as stop:
        new_mail = threading.Event()
        listen_for_mail(new_mail, stop)
        serve(name, interval, stop, periodic_jobs(new_mail))
    click.echo(f"{name}: stopped")
