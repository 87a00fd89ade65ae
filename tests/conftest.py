"""Fixtures: one migrated database per test run (SQLite, or PostgreSQL from DATABASE_URL),
emptied after every test, and builder functions for users, tokens and inbound messages."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash

from channels.base import Channel, InboundMessage
from helpdesk import create_app, logins
from helpdesk.extensions import db
from helpdesk.models import ApiToken, Endpoint, Role, Stage, User, people, utcnow
from helpdesk.tickets import service
from helpdesk.tickets.search import SEARCH_TABLE

os.environ.setdefault("SECRET_KEY", "test-secret-key")

# Dovecot and an SMTP sink for the email channel's tests; the browser tests' live server;
# webhook receivers; a PostgreSQL and a Redis that outage tests stop and start.
pytest_plugins = ("mail_servers", "live_browser", "webhook_receiver", "outage_servers")


def _on_postgresql() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs only in the PostgreSQL pass of the suite")
    config.addinivalue_line(
        "markers", "once: database-independent and slow, so it runs in the SQLite pass only"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each pass leaves out what belongs to the other (deselected, not skipped)."""
    other_pass = "once" if _on_postgresql() else "postgresql"
    keep = [item for item in items if item.get_closest_marker(other_pass) is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep


def _server_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql+psycopg").render_as_string(False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A database of this run's own: a fresh PostgreSQL database, or a SQLite file."""
    with _new_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def unmigrated_app(tmp_path: Path) -> Iterator[Flask]:
    """An app on an empty database of this test's own, for tests that run the migrations
    themselves (step by step, with rows written between the steps)."""
    with _new_database(tmp_path) as url:
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "HELPDESK_STORAGE_DIR": str(tmp_path / "storage"),
            }
        )
        yield app
        with app.app_context():
            db.engine.dispose()


@contextmanager
def _new_database(directory: Path) -> Iterator[str]:
    """A fresh PostgreSQL database (dropped afterwards), or a SQLite file in directory."""
    configured = os.environ.get("DATABASE_URL", "")
    if not _on_postgresql():
        yield f"sqlite:///{directory / 'helpdesk.sqlite3'}"
        return
    name = f"helpdesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(_server_url(configured), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(_server_url(configured)).set(database=name).render_as_string(False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session", autouse=True)
def _quick_password_hashes() -> Iterator[None]:
    """Passwords hashed with one round of PBKDF2 instead of scrypt: at ~0.1 s of CPU for each
    hash and each check, scrypt took minutes of every pass (every user a test makes, every
    login). Checking reads the method from the hash, so both sides follow."""
    quick = partial(generate_password_hash, method="pbkdf2:sha256:1")
    with pytest.MonkeyPatch.context() as patch:
        for module in (people, logins):
            patch.setattr(module, "generate_password_hash", quick)
        yield


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HELPDESK_STORAGE_DIR": str(tmp_path_factory.mktemp("storage")),
            "HELPDESK_PUBLIC_URL": "http://helpdesk.test",
            "WTF_CSRF_ENABLED": False,
            # The API's rate limit stays out of the way; test_token_scopes.py lowers it.
            "HELPDESK_API_RATE_LIMIT": "1000000 per minute",
        }
    )
    with app.app_context():
        upgrade()
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                _keep_insertion_order(conn)
    yield app
    with app.app_context():
        db.engine.dispose()


_RESTART_SEQUENCES = text(
    "SELECT setval(c.oid::regclass, 1, false) FROM pg_class c"
    " JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'S' AND n.nspname = current_schema()"
)


@pytest.fixture(autouse=True)
def _fresh_rows(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with empty tables (tests without the app fixture pay nothing)."""
    yield
    if "app" not in request.fixturenames:
        return
    app: Flask = request.getfixturevalue("app")
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            tables = _all_tables(conn.dialect.name)
            # Only the tables the test wrote to, children first. DELETE, not TRUNCATE: on
            # PostgreSQL a TRUNCATE gives the table and each of its indexes new files, which
            # took ~7 times as long as deleting the few rows a test leaves (~1 s against
            # ~0.15 s a test on the shared machine).
            used = _tables_with_rows(conn, tables)
            for table in (t for t in tables if t in used):
                conn.execute(text(f"DELETE FROM {table}"))
            if conn.dialect.name == "postgresql":
                # Ids and ticket numbers restart at 1.
                conn.execute(_RESTART_SEQUENCES)


def _keep_insertion_order(conn) -> None:
    """No autovacuum on the test database's tables: the rows each test deletes stay dead instead
    of freeing their space for the next test's rows, so a table reads back in the order it was
    written, as after the TRUNCATE this replaces (tests that read without ORDER BY rely on it)."""
    for table in _all_tables(conn.dialect.name):
        conn.execute(text(f"ALTER TABLE {table} SET (autovacuum_enabled = false)"))


def _all_tables(dialect: str) -> list[str]:
    """Every table, children first; the word index first of all, as it references tickets, and
    on PostgreSQL its list of words (on SQLite that list is a view of the index itself)."""
    words = [f"{SEARCH_TABLE}_terms"] if dialect == "postgresql" else []
    return [*words, SEARCH_TABLE, *(t.name for t in reversed(db.metadata.sorted_tables))]


def _tables_with_rows(conn, tables: list[str]) -> set[str]:
    """The tables that hold at least one row, in one query."""
    probes = " UNION ALL ".join(
        f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})" for table in tables
    )
    return set(conn.execute(text(probes)).scalars())


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An application context for tests that call the service directly."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


_sequence = itertools.count(1)


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    """Build and commit a user: ``make_user(role="admin", email=...)``."""

    def build(
        role: Role | str = Role.AGENT,
        email: str | None = None,
        name: str | None = None,
        password: str = "correct horse battery",
        active: bool = True,
        available: bool = False,
    ) -> User:
        n = next(_sequence)
        user = User(
            email=email or f"agent{n}@helpdesk.test",
            name=name or f"Agent {n}",
            role=Role(role),
            active=active,
            # Available and seen just now: online for chat.
            available=available,
            last_seen_at=utcnow() if available else None,
        )
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return build


@pytest.fixture
def make_token(app: Flask) -> Callable[[User], str]:
    """Mint and commit an API token for a user; returns the secret."""

    def build(user: User) -> str:
        secret = f"test-{uuid.uuid4().hex}"
        db.session.add(
            ApiToken(
                name=f"test-{uuid.uuid4().hex[:8]}", user=user, token_hash=ApiToken.hash(secret)
            )
        )
        db.session.commit()
        return secret

    return build


@pytest.fixture
def inbound() -> Callable[..., InboundMessage]:
    """Build an InboundMessage with sensible defaults per channel; any field can be given."""

    defaults = {
        Channel.EMAIL: {"endpoint": "support@shop.test", "sender": "ada@customer.test"},
        Channel.SMS: {"endpoint": "+15550001000", "sender": "+15550002000"},
        Channel.CHAT: {"endpoint": "shop.test", "sender": "visitor-1"},
    }

    def build(channel: Channel | str = Channel.EMAIL, **fields) -> InboundMessage:
        channel = Channel(channel)
        values = {
            **defaults[channel],
            "external_id": f"ext-{uuid.uuid4().hex}",
            "text": "Hello, I need help.",
            **fields,
        }
        if channel == Channel.EMAIL:
            values.setdefault("subject", "Help with my order")
        return InboundMessage(channel=channel, **values)

    return build


@pytest.fixture
def setup(app: Flask) -> Callable[[], AbstractContextManager[None]]:
    """``with setup(): ...`` runs in a fresh app context and commits at the end."""

    @contextmanager
    def block() -> Iterator[None]:
        with app.app_context():
            yield
            db.session.commit()

    return block


@pytest.fixture
def login(client, setup, make_user) -> Callable[..., int]:
    """``login(role)`` creates a user of that role, logs the client in and returns the user id."""

    def build(role: Role | str = Role.AGENT, **fields) -> int:
        with setup():
            user = make_user(role=role, **fields)
            email, user_id = user.email, user.id
        response = client.post("/login", data={"email": email, "password": "correct horse battery"})
        assert response.status_code == 302, response.text
        return user_id

    return build


@pytest.fixture
def open_ticket(setup, inbound) -> Callable[..., int]:
    """Receive an inbound message (``inbound`` fields) and return its ticket's id."""

    def build(channel: str = "email", **fields) -> int:
        with setup():
            return service.receive(inbound(channel, **fields)).ticket_id

    return build


@pytest.fixture
def make_site(app: Flask) -> Callable[..., Endpoint]:
    """Register and commit a chat site: ``make_site(origins=[...], mailbox=..., ...)``."""
    from helpdesk.chat import sites

    def build(
        origins: tuple[str, ...] = ("https://shop.example",),
        name: str = "Ridgeline Shop",
        url_rules: tuple[tuple[str, Stage], ...] = (),
        **options,
    ) -> Endpoint:
        site = sites.add_site(name, list(origins), url_rules=list(url_rules), **options)
        db.session.commit()
        return site

    return build
