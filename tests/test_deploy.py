"""Deployment: the client's address behind trusted proxies, and backup and restore."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask, request

from helpdesk import create_app
from helpdesk.extensions import db, limiter


@pytest.fixture
def app_behind(database_url: str, tmp_path: Path) -> Iterator[Callable[[int], Flask]]:
    """``app_behind(n)``: an app that trusts n proxies, with an API limit of 2 a minute."""
    apps: list[Flask] = []

    def build(proxies: int) -> Flask:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "HELPDESK_STORAGE_DIR": str(tmp_path / "storage"),
                "HELPDESK_TRUSTED_PROXIES": proxies,
                "HELPDESK_API_RATE_LIMIT": "2 per minute",
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


def test_trusted_proxies_must_be_a_count(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPDESK_TRUSTED_PROXIES", "yes")
    with pytest.raises(ValueError, match="HELPDESK_TRUSTED_PROXIES must be a whole number"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db.sqlite3'}"})
