"""How a webhook request travels: to the address the SSRF check resolved (a DNS answer that
changes afterwards is never followed), with the URL's name as Host and as the TLS server name
the certificate is verified for."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from webhook_receiver import Receiver, deliveries

from helpdesk.extensions import db
from helpdesk.models import WebhookEndpoint
from helpdesk.webhooks.delivery import deliver_due

WORKER = "test-worker"

pytestmark = pytest.mark.usefixtures("private_targets")


def _point(endpoint_id: int, url: str) -> None:
    db.session.get(WebhookEndpoint, endpoint_id).url = url
    db.session.commit()


def _rebinding_resolver(monkeypatch, name: str, first: str, later: str) -> list[str]:
    """Answer ``first`` for ``name`` the first time and ``later`` afterwards (a DNS-rebinding
    attacker's server); numeric hosts resolve as they always do. Returns the answers given."""
    real = socket.getaddrinfo
    answers: list[str] = []

    def resolve(host, port, *args, **kwargs):
        if host != name:
            return real(host, port, *args, **kwargs)
        answers.append(first if not answers else later)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    return answers


def test_a_send_connects_to_the_address_that_was_checked(
    app, ctx, receiver, subscribed, open_ticket, monkeypatch
):
    import urllib3.util.connection

    endpoint_id = subscribed(receiver, ("ticket.created",))
    _point(endpoint_id, "https://hooks.rebind.test/hook")
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", False)
    # Public when checked, this machine when looked up again: the request must not follow.
    answers = _rebinding_resolver(monkeypatch, "hooks.rebind.test", "93.184.215.14", "127.0.0.1")
    connected: list[tuple[str, int]] = []

    def no_network(address, *args, **kwargs):
        connected.append(address)
        raise ConnectionRefusedError("tests reach 127.0.0.1 only")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", no_network)
    open_ticket()
    assert deliver_due(WORKER) == 0

    assert answers == ["93.184.215.14"]  # looked up once, for the check
    assert connected == [("93.184.215.14", 443)]
    assert receiver.received == []
    assert "tests reach 127.0.0.1 only" in deliveries(endpoint_id)[0].last_response


def test_a_pinned_send_keeps_the_name_in_the_host_header(
    ctx, receiver, subscribed, open_ticket, monkeypatch
):
    endpoint_id = subscribed(receiver, ("ticket.created",))
    _point(endpoint_id, f"http://hooks.shop.test:{receiver.port}/hook")
    _rebinding_resolver(monkeypatch, "hooks.shop.test", "127.0.0.1", "127.0.0.2")
    open_ticket()
    assert deliver_due(WORKER) == 1
    assert [r.host for r in receiver.accepted()] == [f"hooks.shop.test:{receiver.port}"]


def _certificates(directory: Path, name: str) -> tuple[Path, ssl.SSLContext]:
    """A CA file, and a server context whose certificate that CA signed for ``name``."""
    now = dt.datetime.now(dt.UTC)

    def certificate(subject: str, issuer: str, key, signer, ca: bool, san: str | None = None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if san:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = certificate("Test CA", "Test CA", ca_key, ca_key, ca=True)
    server = certificate(name, "Test CA", server_key, ca_key, ca=False, san=name)
    ca_file, chain, key_file = (directory / n for n in ("ca.pem", "server.pem", "key.pem"))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(server.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain, key_file)
    return ca_file, context


@pytest.mark.parametrize(
    ("certified", "delivered"), [("hooks.shop.test", True), ("elsewhere.test", False)]
)
def test_https_to_a_pinned_address_verifies_the_certificate_for_the_name(
    ctx, subscribed, open_ticket, monkeypatch, tmp_path, certified, delivered
):
    import requests.certs

    ca_file, context = _certificates(tmp_path, certified)
    monkeypatch.setattr(requests.certs, "where", lambda: str(ca_file))
    receiver = Receiver(tls=context)
    receiver.up()
    try:
        endpoint_id = subscribed(receiver, ("ticket.created",))
        _point(endpoint_id, f"https://hooks.shop.test:{receiver.port}/hook")
        _rebinding_resolver(monkeypatch, "hooks.shop.test", "127.0.0.1", "127.0.0.2")
        open_ticket()
        assert deliver_due(WORKER) == int(delivered)
        if delivered:
            assert [r.host for r in receiver.accepted()] == [f"hooks.shop.test:{receiver.port}"]
        else:
            assert receiver.received == []
            assert "certificate" in deliveries(endpoint_id)[0].last_response
    finally:
        receiver.down()
