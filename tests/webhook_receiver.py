"""A real HTTP receiver for webhook tests and the bench: verifies Standard Webhooks signatures
by the spec, records what it got, and can be told to fail, to be slow, or to go down; with the
tests' fixtures that start one and subscribe it."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import EVENT_TYPES, WebhookDelivery
from helpdesk.webhooks import endpoints


@dataclass
class Received:
    """One request: its webhook-id, the payload, how many signatures verified, when."""

    msg_id: str
    payload: dict[str, Any]
    valid_signatures: int
    at: float
    host: str = ""


@dataclass
class Receiver:
    """``url`` to subscribe; ``secrets`` it verifies with; ``fail``/``delay`` to misbehave."""

    secrets: list[str] = field(default_factory=list)
    fail: bool = False
    fail_every_other: bool = False
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    port: int = 0
    server: ThreadingHTTPServer | None = None
    calls: int = 0
    # Connections kept alive between requests (HTTP/1.1), closed when it goes down.
    connections: set[socket.socket] = field(default_factory=set)
    connections_opened: int = 0
    tls: ssl.SSLContext | None = None  # serve HTTPS with this context's certificate

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hook"

    def up(self) -> None:
        """Listen (again, on the same port once it had one)."""
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.server.daemon_threads = True
        if self.tls is not None:
            self.server.socket = self.tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def down(self) -> None:
        """Stop listening: connections are refused until ``up``."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        for connection in list(self.connections):
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def accepted(self) -> list[Received]:
        """What it answered 2xx to, each with every signature checked."""
        return [r for r in self.received if r.valid_signatures]

    def answer(
        self, msg_id: str, timestamp: str, signatures: str, body: bytes, host: str = ""
    ) -> int:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        valid = sum(
            1
            for given in signatures.split()
            for secret in self.secrets
            if hmac.compare_digest(given, _signature(secret, msg_id, timestamp, body))
        )
        failing = self.fail or (self.fail_every_other and self.calls % 2 == 0)
        if failing or not valid:
            return 503 if failing else 401
        self.received.append(Received(msg_id, json.loads(body), valid, time.monotonic(), host))
        return 200


def _signature(secret: str, msg_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keeps connections open, as real receivers do
        # The answer goes out in two writes (headers, body): without this, Nagle's algorithm
        # holds the second until the client's delayed ACK, 40 ms a request on a kept connection.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            receiver.connections.add(self.connection)
            receiver.connections_opened += 1

        def finish(self) -> None:
            receiver.connections.discard(self.connection)
            super().finish()

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            status = receiver.answer(
                self.headers.get("webhook-id", ""),
                self.headers.get("webhook-timestamp", ""),
                self.headers.get("webhook-signature", ""),
                body,
                self.headers.get("host", ""),
            )
            self.send_response(status)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok" if status == 200 else b"no")

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def private_targets(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Let webhooks reach 127.0.0.1, where the tests' receivers listen."""
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver listening on 127.0.0.1 until the test ends."""
    started = Receiver()
    started.up()
    yield started
    started.down()


@pytest.fixture
def subscribed(ctx: Flask) -> Callable[..., int]:
    """Subscribe a receiver to every event (or the ones given); returns the endpoint id."""

    def build(receiver: Receiver, events: tuple[str, ...] = EVENT_TYPES) -> int:
        endpoint, secret = endpoints.subscribe(receiver.url, list(events), None)
        db.session.commit()
        receiver.secrets.append(secret)
        return endpoint.id

    return build


def deliveries(endpoint_id: int) -> list[WebhookDelivery]:
    """An endpoint's outbox rows as the database has them now, oldest first."""
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .order_by(WebhookDelivery.id)
        )
    )
