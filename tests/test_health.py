"""GET /healthz: what a load balancer and a monitor read from each web process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from mail_servers import free_port
from sqlalchemy import text

from helpdesk import create_app
from helpdesk.extensions import db
from helpdesk.models import utcnow
from helpdesk.tickets import service


@pytest.fixture
def other_app(tmp_path: Path) -> Iterator[Callable[..., Flask]]:
    """``other_app(**settings)``: an app of its own beside the suite's."""
    apps: list[Flask] = []

    def build(**settings: object) -> Flask:
        app = create_app(
            {"TESTING": True, "HELPDESK_STORAGE_DIR": str(tmp_path / "storage"), **settings}
        )
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def test_a_ready_process_answers_ok_without_a_login(client):
    answer = client.get("/healthz")

    assert answer.status_code == 200
    assert answer.json == {
        "status": "ok",
        "database": "ok",
        "schema": "current",
        "redis": "off",
        "backlog_seconds": {"replies": 0, "texts": 0},
    }


def test_the_backlog_shows_how_long_the_oldest_due_reply_has_waited(
    client, ctx, make_user, inbound
):
    ticket = service.receive(inbound()).ticket
    reply = service.reply(ticket, make_user(), "On its way.")
    reply.next_attempt_at = utcnow() - timedelta(minutes=5)
    db.session.commit()

    waited = client.get("/healthz").json["backlog_seconds"]["replies"]

    assert 300 <= waited < 360


def test_an_unreachable_database_answers_503(other_app):
    app = other_app(SQLALCHEMY_DATABASE_URI=f"postgresql://nobody@127.0.0.1:{free_port()}/none")

    answer = app.test_client().get("/healthz")

    assert answer.status_code == 503
    assert answer.json == {"status": "unavailable", "database": "unreachable", "redis": "off"}


@pytest.mark.parametrize(
    ("revision", "state"), [(None, "missing"), ("0035_ticket_trash", "behind"), ("9999", "ahead")]
)
def test_a_schema_the_code_does_not_expect_answers_503(unmigrated_app, revision, state):
    if revision is not None:
        with unmigrated_app.app_context(), db.engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
            connection.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})

    answer = unmigrated_app.test_client().get("/healthz")

    assert answer.status_code == 503
    assert answer.json["schema"] == state


def test_redis_down_is_reported_and_the_process_still_serves(other_app, database_url):
    app = other_app(
        SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"
    )

    answer = app.test_client().get("/healthz")

    assert answer.status_code == 200
    assert answer.json["redis"] == "unreachable"
