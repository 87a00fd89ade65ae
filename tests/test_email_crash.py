"""Exactly once under SIGKILL: the fetching process is killed mid-intake again and again."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from mail_samples import mail
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.mail.intake import default_worker_name, fetch_all
from helpdesk.models import InboundEmail, Message, Ticket

# A seeded sample: five kills on 200 messages. HELPDESK_TEST_CRASH_KILLS=12 runs it at the size
# it had (12 kills, ~500 messages), which took a minute and a half of the suite.
KILLS = int(os.environ.get("HELPDESK_TEST_CRASH_KILLS", "5"))
MESSAGES = 40 * KILLS
SEED = 20261125
ROOT = Path(__file__).resolve().parent.parent


def generated_mail(rng: random.Random) -> list[bytes]:
    """New requests and replies to earlier ones (threading must survive the restarts)."""
    batch = []
    for n in range(MESSAGES):
        headers = {}
        if n > 10 and rng.random() < 0.3:
            headers["In-Reply-To"] = f"<crash-{rng.randrange(n)}@customer.test>"
        batch.append(
            mail(
                subject=f"Order {n}",
                body=f"Message number {n}: héllo",
                sender=f"customer{n % 97}@customer.test",
                message_id=f"<crash-{n}@customer.test>",
                headers=headers,
            )
        )
    return batch


def test_sigkill_at_random_moments_stores_every_message_exactly_once(
    app, ctx, dovecot, imap_folder, make_mailbox, database_url
):
    rng = random.Random(SEED)
    make_mailbox()
    dovecot.append(imap_folder, *generated_mail(rng))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "HELPDESK_STORAGE_DIR": app.config["HELPDESK_STORAGE_DIR"],
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "mailbox", "fetch"]

    kills = 0
    forking = multiprocessing.get_context("fork")  # a real process, without the start-up cost
    while kills < KILLS:
        before = _stored()
        process = forking.Process(target=_fetch_in_child, args=(app,))
        process.start()
        if rng.random() < 0.2:
            time.sleep(rng.uniform(0, 0.3))  # anywhere, connecting to IMAP included
        else:
            _wait_for_progress(before, process)  # in the middle of taking mail in
            time.sleep(rng.uniform(0, 0.08))
        if not process.is_alive():
            break  # it finished before the blow
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        kills += 1
        if _stored() == MESSAGES:
            break

    # The real command, run to the end, finds the rest and stores nothing twice.
    finished = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stdout + finished.stderr

    assert kills >= KILLS - 2
    db.session.rollback()
    assert _stored() == MESSAGES
    assert db.session.scalar(select(func.count(Message.id))) == MESSAGES
    external_ids = db.session.scalars(select(Message.external_id)).all()
    assert len(set(external_ids)) == MESSAGES  # none twice
    keys = db.session.scalars(select(InboundEmail.dedupe_key)).all()
    assert len(set(keys)) == MESSAGES
    replies = db.session.scalar(
        select(func.count(Message.id)).where(Message.thread_reason.like("reply to message%"))
    )
    tickets = db.session.scalar(select(func.count(Ticket.id)))
    assert replies + tickets == MESSAGES
    assert all(b"\\Seen" in flags for flags in dovecot.flags(imap_folder).values())


def _fetch_in_child(app) -> None:
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's connections stay the parent's
        fetch_all(default_worker_name(), batch_size=5)
    os._exit(0)


def _stored() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(InboundEmail.id)))


def _wait_for_progress(before: int, process) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.is_alive():
        if _stored() > before:
            return
        time.sleep(0.01)
