"""Real mail servers for the email tests: Dovecot (IMAP) and an aiosmtpd sink that can fail.

Dovecot is started once per test run from a config of its own; each test reads its own folder.
Both speak TLS (STARTTLS and implicit) with a certificate from a throwaway CA made per run.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

IMAP_USER = "support@shop.test"
IMAP_PASSWORD = "support-imap-pw"
_DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = helpdesk-test-{instance}
protocols = imap
listen = 127.0.0.1
{ssl}
# The plain listener offers STARTTLS but does not insist: most tests log in without TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u/Maildir
# Test mail need not survive a power cut; appends without fsync are many times faster.
mail_fsync = never
log_path = {root}/dovecot.log
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
{unprivileged}
"""
_UNPRIVILEGED = """\
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""

_DOVECOT_SSL = """\
ssl = yes
ssl_cert = <{certificate.cert_file}
ssl_key = <{certificate.key_file}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _installed(command: str) -> str:
    """The path of a system command the mail tests need, installed first on a bare CI machine."""
    search = "/usr/sbin:/sbin:/usr/bin:/bin"
    found = shutil.which(command) or shutil.which(command, path=search)
    if found is None and os.geteuid() == 0:
        # CI machines start bare: install it as .ci/services does.
        subprocess.run(["bash", str(Path(__file__).parent.parent / ".ci" / "services")], check=True)
        found = shutil.which(command, path=search)
    if found is None:
        raise RuntimeError(f"{command} is not installed: run `bash .ci/services` as root")
    return found


# --- TLS --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServerCertificate:
    """A certificate for 127.0.0.1 and localhost, signed by a CA no system trusts."""

    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


_SERVER_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@pytest.fixture(scope="session")
def mail_certificate() -> Iterator[ServerCertificate]:
    # Not under pytest's basetemp, which other pytest runs of this user may clean up mid-run.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-tls-"))
    try:
        yield _issue_certificate(_installed("openssl"), root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _issue_certificate(openssl: str, root: Path) -> ServerCertificate:
    """A throwaway CA and a server certificate it signed, made with the openssl command."""
    issued = ServerCertificate(root / "ca.pem", root / "server.pem", root / "server.key")
    (root / "server.ext").write_text(_SERVER_EXTENSIONS)
    new_key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
    # mkdtemp paths hold no spaces, so each command line splits on whitespace.
    for command in (
        f"req -x509 {new_key} -keyout {root}/ca.key -out {issued.ca_file} -days 2"
        " -subj /CN=helpdesk-test-ca -addext basicConstraints=critical,CA:TRUE"
        " -addext keyUsage=critical,keyCertSign,cRLSign",
        f"req -new {new_key} -keyout {issued.key_file} -out {root}/server.csr -subj /CN=127.0.0.1",
        f"x509 -req -in {root}/server.csr -CA {issued.ca_file} -CAkey {root}/ca.key -set_serial 1"
        f" -days 2 -extfile {root}/server.ext -out {issued.cert_file}",
    ):
        subprocess.run([openssl, *command.split()], check=True, capture_output=True)
    return issued


@dataclass
class Dovecot:
    """A running Dovecot with one user; tests append to and read folders of their own."""

    host: str
    port: int  # plain IMAP, offering STARTTLS when the server has a certificate
    tls_port: int | None = None  # implicit TLS (imaps)
    user: str = IMAP_USER
    password: str = IMAP_PASSWORD
    _names: Iterator[int] = field(default_factory=itertools.count)

    def connect(self) -> IMAPClient:
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=30)
        client.login(self.user, self.password)
        return client

    def new_folder(self) -> str:
        name = f"T{uuid.uuid4().hex[:10]}"
        with self.connect() as client:
            client.create_folder(name)
        return name

    def append(self, folder: str, *messages: bytes, seen: bool = False) -> list[int]:
        """Deliver raw messages (MULTIAPPEND, in chunks); returns their UIDs."""
        uids: list[int] = []
        flags = [b"\\Seen"] if seen else []
        with self.connect() as client:
            for start in range(0, len(messages), 200):
                chunk = messages[start : start + 200]
                answer = client.multiappend(folder, [{"msg": raw, "flags": flags} for raw in chunk])
                uids.extend(_appended_uids(answer[1][-1]))
        return uids

    def flags(self, folder: str) -> dict[int, tuple[bytes, ...]]:
        with self.connect() as client:
            client.select_folder(folder, readonly=True)
            answer = client.fetch(client.search(), ["FLAGS"])
            return {uid: data[b"FLAGS"] for uid, data in answer.items()}

    def count(self, folder: str) -> int:
        with self.connect() as client:
            if not client.folder_exists(folder):
                return 0
            return client.select_folder(folder, readonly=True)[b"EXISTS"]

    def recreate(self, folder: str) -> None:
        """Delete and create the folder again: the server hands out a new UIDVALIDITY."""
        with self.connect() as client:
            client.delete_folder(folder)
            client.create_folder(folder)


def _appended_uids(answer: bytes) -> list[int]:
    """UIDs from an APPENDUID response code: ``[APPENDUID validity 5:7] ...`` or ``5,6,7``."""
    code = answer.split(b"]")[0].split()[-1].decode()
    uids: list[int] = []
    for part in code.split(","):
        first, _, last = part.partition(":")
        uids.extend(range(int(first), int(last or first) + 1))
    return uids


@pytest.fixture(scope="session")
def dovecot(mail_certificate: ServerCertificate) -> Iterator[Dovecot]:
    with running_dovecot(mail_certificate) as server:
        yield server


@contextmanager
def running_dovecot(certificate: ServerCertificate | None = None) -> Iterator[Dovecot]:
    """Start a Dovecot of our own (the benchmark uses it too); stopped and removed after.

    With a certificate it also speaks TLS: STARTTLS on its port and implicit TLS on tls_port.
    """
    binary = _installed("dovecot")
    # Not under pytest's basetemp: every pytest run of this user resets that to mode 0700,
    # which would lock Dovecot's auth process (user dovecot) out of the users file mid-run.
    root = Path(tempfile.mkdtemp(prefix="helpdesk-dovecot-"))
    try:
        yield from _run_dovecot(binary, root, certificate)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_dovecot(
    binary: str, root: Path, certificate: ServerCertificate | None
) -> Iterator[Dovecot]:
    port = free_port()
    tls_port = free_port() if certificate else None
    for sub in ("run", "state", "mail"):
        (root / sub).mkdir()
    if os.geteuid() == 0:
        # Dovecot refuses to store mail as root, and its auth process reads the users file as
        # user dovecot: every parent must be traversable and mail/ owned by nobody.
        uid, gid, unprivileged = "nobody", "nogroup", ""
        root.chmod(0o755)
        shutil.chown(root / "mail", "nobody", "nogroup")
    else:
        import grp
        import pwd

        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        uid, gid = user, group
        unprivileged = _UNPRIVILEGED.format(user=user, group=group)
    (root / "users").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}::::::\n")
    conf = root / "dovecot.conf"
    conf.write_text(
        _DOVECOT_CONF.format(
            root=root,
            instance=uuid.uuid4().hex[:8],
            ssl=_DOVECOT_SSL.format(certificate=certificate) if certificate else "ssl = no",
            port=port,
            tls_port=tls_port or 0,
            uid=uid,
            gid=gid,
            unprivileged=unprivileged,
        )
    )
    process = subprocess.Popen([binary, "-F", "-c", str(conf)])
    server = Dovecot("127.0.0.1", port, tls_port)
    try:
        log = root / "dovecot.log"
        for listening in (port, tls_port or port):
            try:
                wait_for_port(listening, process, "dovecot")
            except RuntimeError as error:
                raise RuntimeError(f"{error}: {log.read_text() if log.exists() else ''}") from None
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen, what: str, seconds: float = 15) -> None:
    """Return once something listens on ``port``; fail when ``process`` exits first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start listening on {port}")


# --- SMTP -------------------------------------------------------------------------------------


@dataclass
class SmtpSink:
    """Records what it receives; ``fail_next(code, times)`` makes the next DATA answers fail:
    an SMTP answer, "drop" (hang up instead of taking the mail) or "take and drop" (keep the
    mail, then hang up before answering: the client cannot know it was taken)."""

    host: str
    port: int
    received: list = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def fail_next(self, answer: str, times: int = 1) -> None:
        self.failures.extend([answer] * times)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.failures:
            answer = self.failures.pop(0)
            if answer == "take and drop":
                self.received.append(envelope)
            if answer in ("drop", "take and drop"):
                server.transport.close()
                return "421 closing"
            return answer
        self.received.append(envelope)
        return "250 OK queued"


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with running_sink() as sink:
        yield sink


@pytest.fixture
def smtp_starttls_sink(mail_certificate: ServerCertificate) -> Iterator[SmtpSink]:
    """A sink that refuses mail until the client has upgraded with STARTTLS."""
    context = mail_certificate.server_context()
    with running_sink(tls_context=context, require_starttls=True) as sink:
        yield sink


@pytest.fixture
def smtp_tls_sink(mail_certificate: ServerCertificate) -> Iterator[SmtpSink]:
    """A sink that speaks only implicit TLS (as on port 465)."""
    with running_sink(ssl_context=mail_certificate.server_context()) as sink:
        yield sink


@contextmanager
def running_sink(sink: SmtpSink | None = None, **controller_options: object) -> Iterator[SmtpSink]:
    """An aiosmtpd server on a free port, or ``sink`` served again on its own port (a server
    back from an outage); options go to its Controller (TLS settings)."""
    sink = sink or SmtpSink("127.0.0.1", free_port())
    controller = Controller(sink, hostname=sink.host, port=sink.port, **controller_options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture
def demo_sinks(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """The demo's mail sink and Twilio stand-in on free ports: (smtp, twilio, their directory)."""
    from helpdesk import demo_channels

    smtp, twilio, directory = free_port(), free_port(), tmp_path / "demo-outbox"
    with demo_channels.mail_sink(directory, smtp), demo_channels.text_sink(directory, twilio):
        yield smtp, twilio, directory


def sending_mailbox(sink: SmtpSink, **smtp: str) -> object:
    """A mailbox whose replies go to ``sink`` (its IMAP side is never read); commits."""
    from helpdesk.extensions import db
    from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox

    mailbox = add_mailbox(
        MailboxSettings(
            address="support@shop.test",
            imap_host="127.0.0.1",
            imap_port=1,
            imap_security="none",
            imap_user="support",
            imap_password="unused",
            smtp_host=sink.host,
            smtp_port=sink.port,
            **{"smtp_security": "none", **smtp},
        )
    )
    db.session.commit()
    return mailbox


@pytest.fixture
def imap_folder(dovecot: Dovecot) -> str:
    """A fresh, empty folder of this test's own."""
    return dovecot.new_folder()


@pytest.fixture
def make_mailbox(app, dovecot: Dovecot, imap_folder: str) -> Callable[..., object]:
    """Register and commit a mailbox reading this test's folder: ``make_mailbox(**settings)``."""
    from helpdesk.extensions import db
    from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox

    def build(**settings):
        values = {
            "address": "support@shop.test",
            "imap_host": dovecot.host,
            "imap_port": dovecot.port,
            "imap_security": "none",
            "imap_user": dovecot.user,
            "imap_password": dovecot.password,
            "folder": imap_folder,
            **settings,
        }
        mailbox = add_mailbox(MailboxSettings(**values))
        db.session.commit()
        return mailbox

    return build
