"""Deployment: the client's address behind trusted proxies, and backup and restore."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from flask import Flask, request
from flask_migrate import upgrade
from sqlalchemy import select, text
from twilio.request_validator import RequestValidator

from channels.base import InboundAttachment
from helpdesk import create_app
from helpdesk.extensions import db, limiter
from helpdesk.models import Message, Ticket
from helpdesk.storage import blob_store

# The newest migration: what a backup of a database made by this version says it holds.
HEAD = ScriptDirectory(
    str(Path(__file__).resolve().parent.parent / "migrations")
).get_current_head()


@pytest.fixture
def app_behind(database_url: str, tmp_path: Path) -> Iterator[Callable[[int], Flask]]:
    """``app_behind(n, **settings)``: an app that trusts n proxies, with an API limit of 2 an
    hour."""
    apps: list[Flask] = []

    def build(proxies: int, **settings: object) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "HELPDESK_STORAGE_DIR": str(tmp_path / "storage"),
                "HELPDESK_TRUSTED_PROXIES": proxies,
                "HELPDESK_API_RATE_LIMIT": "2 per hour",
                **settings,
            }
        )
        apps.append(app)
        limiter.reset()
        return app

    yield build
    limiter.reset()
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def _document_answers(app: Flask, forwarded_for: list[str]) -> list[int]:
    """The status of one unauthenticated request per X-Forwarded-For value, from 127.0.0.1."""
    client = app.test_client()
    return [
        client.get("/api/v1/openapi.json", headers={"X-Forwarded-For": address}).status_code
        for address in forwarded_for
    ]


def test_without_trusted_proxies_a_forged_forwarded_for_changes_nothing(app_behind):
    # Three different claimed clients, all from one connection: one count, the third is over.
    answers = _document_answers(app_behind(0), ["203.0.113.1", "203.0.113.2", "203.0.113.3"])
    assert answers == [200, 200, 429]


def test_behind_one_proxy_each_forwarded_client_has_its_own_count(app_behind):
    app = app_behind(1)
    assert _document_answers(app, ["203.0.113.1", "203.0.113.1", "203.0.113.1"]) == [200, 200, 429]
    # The proxy appends the address it saw; what the client wrote before it is not trusted.
    assert _document_answers(app, ["203.0.113.1, 203.0.113.2", "198.51.100.7"]) == [200, 200]


def test_behind_one_proxy_the_request_sees_the_client_scheme_and_host(app_behind):
    app = app_behind(1)
    seen: dict[str, str | None] = {}

    @app.get("/_seen")
    def _seen() -> str:
        seen.update(addr=request.remote_addr, url=request.url)
        return ""

    app.test_client().get(
        "/_seen",
        headers={
            "X-Forwarded-For": "203.0.113.9",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "help.example.com",
        },
    )
    assert seen == {"addr": "203.0.113.9", "url": "https://help.example.com/_seen"}


def test_behind_a_proxy_twilio_signatures_are_still_checked_against_the_public_url(app, app_behind):
    proxied = app_behind(
        1, HELPDESK_PUBLIC_URL="https://help.example.com", TWILIO_AUTH_TOKEN="twilio-token"
    )
    form = {"MessageSid": "SM1", "From": "+15550002000", "To": "+15550001000", "Body": "Hi"}
    # The proxy reaches the app over plain HTTP on an inside name, and says so in its headers.
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "http"}

    def post(signed_url: str) -> int:
        signature = RequestValidator("twilio-token").compute_signature(signed_url, form)
        return (
            proxied.test_client()
            .post(
                "/webhooks/twilio/sms",
                base_url="http://helpdesk.internal:8000",
                data=form,
                headers={**forwarded, "X-Twilio-Signature": signature},
            )
            .status_code
        )

    assert post("http://helpdesk.internal:8000/webhooks/twilio/sms") == 403
    assert post("https://help.example.com/webhooks/twilio/sms") == 200


def test_trusted_proxies_must_be_a_count(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPDESK_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="HELPDESK_TRUSTED_PROXIES must be a whole number"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})


def _tickets() -> list[tuple]:
    """Every ticket with its messages and the bytes of their files, in order."""
    store = blob_store()
    return [
        (
            ticket.id,
            ticket.number,
            ticket.subject,
            ticket.status,
            [
                (
                    message.id,
                    message.text,
                    [(a.filename, store.get(a.storage_key)) for a in message.attachments],
                )
                for message in db.session.scalars(
                    select(Message).where(Message.ticket_id == ticket.id).order_by(Message.id)
                )
            ],
        )
        for ticket in db.session.scalars(select(Ticket).order_by(Ticket.id))
    ]


def _subjects(app: Flask) -> list[str]:
    with app.app_context():
        subjects = list(db.session.scalars(select(Ticket.subject).order_by(Ticket.id)))
        db.session.remove()
        return subjects


def _revision(app: Flask) -> str:
    with app.app_context():
        revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
        db.session.remove()
        return revision


@pytest.fixture
def archive(app, runner, open_ticket, tmp_path, monkeypatch) -> Path:
    """A backup of two tickets, one of them with a file, in a store of its own (the suite's
    store holds the files of every test before)."""
    monkeypatch.setitem(app.config, "HELPDESK_STORAGE_DIR", str(tmp_path / "store"))
    open_ticket(
        subject="Broken zipper",
        attachments=[InboundAttachment("zipper.jpg", "image/jpeg", b"\xff\xd8 zipper photo")],
    )
    open_ticket(subject="Where is my order?", text="It was due on Monday.")
    path = tmp_path / "backups" / "helpdesk.tar.gz"
    result = runner.invoke(args=["backup", str(path)])
    assert result.exit_code == 0, result.output
    assert "2 tickets, 2 messages, 1 attachments, 1 stored files" in result.output
    return path


def test_a_backup_restores_tickets_messages_and_files_into_a_new_install(
    app, archive, unmigrated_app
):
    with app.app_context():
        before = _tickets()
        db.session.remove()
    assert before[0][4][0][2] == [("zipper.jpg", b"\xff\xd8 zipper photo")]

    # A new database without even a schema, and an empty store of its own.
    result = unmigrated_app.test_cli_runner().invoke(args=["restore", str(archive)])

    assert result.exit_code == 0, result.output
    assert "restored" in result.output and "2 tickets" in result.output
    assert "db upgrade" not in result.output
    with unmigrated_app.app_context():
        assert _tickets() == before
        db.session.remove()


def test_the_archive_is_for_its_owner_only_and_says_what_it_holds(archive):
    assert archive.stat().st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        names = tar.getnames()
    assert manifest["revision"] == HEAD
    assert manifest["database"] in {"sqlite", "postgresql"}
    assert manifest["counts"]["tickets"] == 2
    assert len([name for name in names if name.startswith("storage/")]) == 1


def test_restore_replaces_a_database_with_rows_only_when_forced(app, runner, archive, open_ticket):
    open_ticket(subject="Written after the backup")

    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code == 1
    assert "not empty" in refused.output and "--force" in refused.output
    assert len(_subjects(app)) == 3

    forced = runner.invoke(args=["restore", "--force", str(archive)])
    assert forced.exit_code == 0, forced.output
    assert _subjects(app) == ["Broken zipper", "Where is my order?"]
    # The restored database takes new tickets as before.
    open_ticket(subject="After the restore")
    assert _subjects(app)[-1] == "After the restore"


def test_a_backup_of_an_older_schema_is_restored_and_the_user_told_to_upgrade(
    unmigrated_app, tmp_path
):
    runner = unmigrated_app.test_cli_runner()
    with unmigrated_app.app_context():
        upgrade(revision="0032_token_scopes")
    path = tmp_path / "old.tar.gz"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with unmigrated_app.app_context():
        upgrade()

    result = runner.invoke(args=["restore", str(path)])

    assert result.exit_code == 0, result.output
    assert "run `helpdesk db upgrade`" in result.output
    assert _revision(unmigrated_app) == "0032_token_scopes"
    with unmigrated_app.app_context():
        upgrade()
    assert _revision(unmigrated_app) == HEAD


def _rewritten(source: Path, target: Path, change: Callable[[str, bytes], tuple[str, bytes]]):
    """A copy of the archive ``source`` with each member's name and bytes passed through."""
    with tarfile.open(source) as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            name, data = change(member.name, old.extractfile(member).read())
            info = tarfile.TarInfo(name)
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return target


def _manifest_with(**values) -> Callable[[str, bytes], tuple[str, bytes]]:
    def change(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "manifest.json":
            return name, json.dumps({**json.loads(data), **values}).encode()
        return name, data

    return change


def _blob_with(name: str, data: bytes) -> tuple[str, bytes]:
    return name, (b"changed" if name.startswith("storage/") else data)


def _blob_named(new_name: str) -> Callable[[str, bytes], tuple[str, bytes]]:
    return lambda name, data: (new_name if name.startswith("storage/") else name, data)


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (_manifest_with(revision="0099_from_the_future"), "does not know"),
        (_manifest_with(database="oracle"), "a backup of a oracle database"),
        (_manifest_with(format=2), "backup format 2"),
        (_blob_with, "is damaged"),
        (_blob_named("../../escaped"), "which no backup holds"),
        (_blob_named("/tmp/escaped"), "which no backup holds"),
    ],
)
def test_a_damaged_or_foreign_archive_is_refused_and_nothing_changes(
    app, runner, archive, tmp_path, change, complaint
):
    bad = _rewritten(archive, tmp_path / "bad.tar.gz", change)
    result = runner.invoke(args=["restore", "--force", str(bad)])
    assert result.exit_code == 1
    assert complaint in result.output
    assert len(_subjects(app)) == 2
    assert not (tmp_path / "escaped").exists()


def test_a_damaged_database_dump_is_refused_and_the_database_stays(app, runner, archive, tmp_path):
    def damage(name: str, data: bytes) -> tuple[str, bytes]:
        return name, (data[:100] + b"\0" * 100 if name.startswith("database.") else data)

    bad = _rewritten(archive, tmp_path / "bad.tar.gz", damage)
    result = runner.invoke(args=["restore", "--force", str(bad)])
    assert result.exit_code == 1
    assert "is damaged" in result.output
    assert _subjects(app) == ["Broken zipper", "Where is my order?"]


def test_what_is_not_a_backup_is_refused(runner, tmp_path):
    (tmp_path / "notes.txt").write_text("not an archive")
    answers = [
        runner.invoke(args=["restore", str(tmp_path / "notes.txt")]).output,
        runner.invoke(args=["restore", str(tmp_path / "missing.tar.gz")]).output,
    ]
    assert "damaged or no backup archive" in answers[0]
    assert "there is no file" in answers[1]
