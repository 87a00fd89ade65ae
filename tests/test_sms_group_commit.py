"""The SMS webhook's group commit: texts arriving together are stored in one commit, and each
is answered 200 only once that commit holds it (helpdesk/inbox_writer.py)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from test_sms import AUTH_TOKEN, signature, sms_form

from helpdesk import inbox_writer
from helpdesk.extensions import db
from helpdesk.models import InboxItem

WEBHOOK = "/webhooks/twilio/sms"


@pytest.fixture
def signed_app(app: Flask, ctx: Flask, monkeypatch) -> Flask:
    monkeypatch.setitem(app.config, "TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    return app


@pytest.fixture
def writer_commits(signed_app: Flask) -> Iterator[list[Callable[[], None]]]:
    """Steps run by the inbox writer at each commit, before the database commits."""
    steps: list[Callable[[], None]] = []

    def on_commit(connection) -> None:
        if threading.current_thread().name == "inbox-writer":
            for step in steps:
                step()

    engine = db.engine
    event.listen(engine, "commit", on_commit)
    yield steps
    event.remove(engine, "commit", on_commit)


def post(app: Flask, form: dict[str, str]) -> int:
    """Post a signed text from a client of its own (as concurrent requests do)."""
    headers = {"X-Twilio-Signature": signature(WEBHOOK, form)}
    return app.test_client().post(WEBHOOK, data=form, headers=headers).status_code


def stored(engine: Engine, sid: str) -> int:
    """How many inbox rows hold ``sid``, read on a connection of its own."""
    with engine.connect() as connection:
        return connection.scalar(
            select(func.count()).select_from(InboxItem).where(InboxItem.external_id == sid)
        )


def test_texts_arriving_together_are_answered_only_once_their_commit_holds_them(
    signed_app, writer_commits
):
    engine = db.engine
    first_commit_reached, let_it_commit = threading.Event(), threading.Event()

    def hold_the_first_commit() -> None:
        if not first_commit_reached.is_set():
            first_commit_reached.set()
            assert let_it_commit.wait(30)

    writer_commits.append(hold_the_first_commit)
    forms = [sms_form(f"text {n}", From=f"+1555000{n:04d}") for n in range(8)]

    def post_and_look(form: dict[str, str]) -> tuple[int, int]:
        status = post(signed_app, form)
        # The moment the answer is in: is the text in the database for everyone to see?
        return status, stored(engine, form["MessageSid"])

    with ThreadPoolExecutor(len(forms)) as pool:
        first = pool.submit(post_and_look, forms[0])
        assert first_commit_reached.wait(30)
        # These arrive while the first text's commit is under way: they wait for the next.
        rest = [pool.submit(post_and_look, form) for form in forms[1:]]
        threading.Event().wait(0.3)
        assert not first.done() and not any(answer.done() for answer in rest)
        let_it_commit.set()
        answers = [first.result(30), *(answer.result(30) for answer in rest)]

    assert answers == [(200, 1)] * len(forms)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(InboxItem)) == len(forms)


def test_a_text_sent_twice_at_once_is_stored_once(signed_app):
    form = sms_form("Where is my parcel?")
    with ThreadPoolExecutor(6) as pool:
        statuses = list(pool.map(lambda _: post(signed_app, form), range(6)))

    assert statuses == [200] * 6
    assert stored(db.engine, form["MessageSid"]) == 1


def test_a_commit_that_fails_answers_503_and_the_retry_is_stored(signed_app, writer_commits):
    def disk_full() -> None:
        raise OSError("No space left on device")

    writer_commits.append(disk_full)
    form = sms_form("Is my order on its way?")

    assert post(signed_app, form) == 503
    assert stored(db.engine, form["MessageSid"]) == 0

    writer_commits.remove(disk_full)
    assert post(signed_app, form) == 200
    assert stored(db.engine, form["MessageSid"]) == 1


def test_a_text_not_stored_in_time_is_answered_503(signed_app, writer_commits, monkeypatch):
    monkeypatch.setattr(inbox_writer, "STORE_PATIENCE", 0.2)
    released = threading.Event()
    writer_commits.append(lambda: released.wait(30))
    form = sms_form("Hello?")
    try:
        assert post(signed_app, form) == 503
    finally:
        released.set()
    # Stored once the slow commit went through: Twilio's retry of it will be a duplicate.
    deadline = time.monotonic() + 30
    while stored(db.engine, form["MessageSid"]) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stored(db.engine, form["MessageSid"]) == 1
