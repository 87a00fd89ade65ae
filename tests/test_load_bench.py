"""A seeded sample of bench/load.py: agents and texts at once on the production layout.

A few agents and ten texts a second for three seconds through gunicorn and `helpdesk worker`
processes on a database of the run's own (SQLite, or a PostgreSQL database on the suite's
server with two of each): every request answered as expected, nothing "database is locked",
every text taken in once, every reply sent. The figures at full size are the bench's.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import load


def test_agents_and_texts_at_once_lose_nothing_and_meet_no_lock():
    database_url = os.environ.get("DATABASE_URL", "")
    settings = load.Settings(
        seconds=3,
        agents=3,
        rate=10,
        think=0.2,
        tickets=30,
        threads=20,
        database_url=database_url if database_url.startswith("postgres") else None,
    )

    # In a thread of its own: the bench runs its own event loop, and the browser tests leave
    # Playwright's running in this one.
    with ThreadPoolExecutor(1) as thread:
        outcome = thread.submit(load.run, settings).result()

    tally = outcome.tally
    assert not tally.errors
    assert (outcome.log_locked, tally.locked) == (0, 0)
    assert outcome.log_errors == []
    assert {"queue", "ticket", "presence", "webhook"} <= set(tally.timings)
    assert len(outcome.texts_stored) == outcome.texts_sent == 30
    assert (outcome.texts_twice, outcome.texts_lost, outcome.intake_failed) == (0, 0, 0)
    assert outcome.drained_after is not None
    assert set(outcome.replies) <= {"sent", "delivered"}
