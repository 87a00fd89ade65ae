"""The production layout the benchmarks run the helpdesk in, and the Twilio forms they send it.

gunicorn web processes (gthread workers, as the README recommends) and ``helpdesk worker``
processes on 127.0.0.1 and free ports, each started with the environment a bench gives it;
inbound texts signed with the bench's Twilio credentials as Twilio signs its webhooks.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_URL = "http://helpdesk.bench"
ACCOUNT_SID = "AC" + "7" * 32
AUTH_TOKEN = "bench-auth-token"
NUMBER = "+15550001000"
SMS_PATH = "/webhooks/twilio/sms"
# Every import of the app takes seconds on a busy machine: wait long enough for a few.
START_PATIENCE = 120.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def twilio_settings() -> dict[str, str]:
    """The environment that makes the app accept the bench's signed texts."""
    return {
        "HELPDESK_PUBLIC_URL": PUBLIC_URL,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
    }


def start_web(
    app_spec: str,
    env: dict[str, str],
    *,
    workers: int = 1,
    threads: int = 4,
    options: Sequence[str] = (),
    log: IO | None = None,
) -> tuple[subprocess.Popen, int]:
    """gunicorn serving ``app_spec`` on a free port; returns once it answers."""
    port = free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "--worker-class", "gthread",
        "--threads", str(threads),
        "--log-level", "warning",
        "--chdir", str(ROOT),
        *options,
        app_spec,
    ]  # fmt: skip
    server = subprocess.Popen(command, env=env, stdout=log, stderr=log)
    wait_until_answering(port, server)
    return server, port


def wait_until_answering(port: int, process: subprocess.Popen) -> None:
    """Return once the server on ``port`` answers HTTP (a worker has loaded the app); stop
    it and raise if ``process`` dies or takes too long."""
    deadline = time.monotonic() + START_PATIENCE
    while time.monotonic() < deadline and process.poll() is None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            connection.request("GET", "/")
            connection.getresponse()
            return
        except OSError:
            time.sleep(0.1)
        finally:
            connection.close()
    stop(process)
    raise RuntimeError(f"the web process for port {port} did not start")


def start_worker(env: dict[str, str], log: IO, interval: float | None = None) -> subprocess.Popen:
    """A ``helpdesk worker`` process (the product's default poll interval unless given)."""
    command = [str(Path(sys.executable).with_name("helpdesk")), "worker"]
    if interval is not None:
        command += ["--interval", str(interval)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen, patience: float = 30.0) -> None:
    """Ask a process to finish (SIGTERM) and wait for it; kill it when it takes too long."""
    process.terminate()
    try:
        process.wait(timeout=patience)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(process: subprocess.Popen) -> float:
    """CPU time used so far by a process and its live children, such as a gunicorn master's
    workers (Linux /proc)."""
    pids = [str(process.pid)]
    pids += Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def sms_form(sid: str, sender: str, body: str) -> dict[str, str]:
    """An inbound text's webhook form as Twilio posts it."""
    return {
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "From": sender,
        "To": NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


def sms_signature(form: dict[str, str]) -> str:
    """``X-Twilio-Signature`` for posting ``form`` to the SMS webhook at the public URL."""
    return RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_URL + SMS_PATH, form)
