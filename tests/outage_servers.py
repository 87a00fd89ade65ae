"""Private servers a test may stop and start again: a PostgreSQL and a Redis of its own.

Each listens on 127.0.0.1 and a free port, keeps its files in a temporary directory and is
removed afterwards; the shared PostgreSQL and Redis of the machine are never touched.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from mail_servers import free_port, wait_for_port

POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
# Test data need not survive a power cut: no fsync makes initdb and every commit far quicker.
_POSTGRES_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def _stop(process: subprocess.Popen, signum: int) -> None:
    if process.poll() is None:
        process.send_signal(signum)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class PrivatePostgres:
    """A PostgreSQL 15 cluster of the test's own, stopped and started on the same port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self._process: subprocess.Popen | None = None
        # initdb and postgres refuse to run as root: they run as the postgres user then.
        self._user = "postgres" if os.geteuid() == 0 else None
        if self._user:
            shutil.chown(root, self._user, self._user)
        self._run("initdb", "-D", str(root / "data"), "-U", "postgres", "--auth=trust", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(POSTGRES_BIN / program), *args], user=self._user, check=True, capture_output=True
        )

    def start(self) -> None:
        settings = [arg for setting in _POSTGRES_SETTINGS for arg in ("-c", setting)]
        self._process = subprocess.Popen(
            [
                str(POSTGRES_BIN / "postgres"),
                *("-D", str(self.root / "data"), "-p", str(self.port), "-k", str(self.root)),
                *("-c", "listen_addresses=127.0.0.1", *settings),
            ],
            user=self._user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self._process, "postgres")
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        # The port opens before the server takes connections (it may still be recovering).
        deadline = time.monotonic() + 15
        while True:
            ready = subprocess.run(
                [str(POSTGRES_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0 or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    def stop(self) -> None:
        """A fast shutdown (SIGINT, as ``pg_ctl -m fast``): every connection is cut."""
        if self._process is not None:
            _stop(self._process, signal.SIGINT)
            self._process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A running PostgreSQL of this test's own (about 2 s to create)."""
    root = Path(tempfile.mkdtemp(prefix="helpdesk-pg-"))
    try:
        server = PrivatePostgres(root)
        server.start()
        try:
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


class PrivateRedis:
    """A Redis of the test's own, keeping nothing on disk, stopped and started on one port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [
                "redis-server",
                *("--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.root)),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self._process, "redis-server")

    def stop(self) -> None:
        if self._process is not None:
            _stop(self._process, signal.SIGTERM)
            self._process = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A running Redis of this test's own."""
    root = Path(tempfile.mkdtemp(prefix="helpdesk-redis-"))
    server = PrivateRedis(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
