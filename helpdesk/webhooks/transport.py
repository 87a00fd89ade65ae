"""Sending one signed webhook request: to the address its URL was checked at (never a second
DNS lookup), with the URL's name in the Host header and as the TLS server name the certificate
is checked against, over connections each sender thread keeps open between events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import requests.certs
import urllib3

from helpdesk.models import utcnow
from helpdesk.webhooks.targets import Target, UnsafeTarget, resolve

TIMEOUT = urllib3.Timeout(connect=3.0, read=10.0)
EXCERPT = 500


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one send got back: the HTTP status (None when nothing answered), an excerpt of the
    answer (or why nothing came), when it was sent and how long it took."""

    status: int | None
    excerpt: str
    at: datetime
    duration_ms: int = 0

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class PinnedClient:
    """One sender thread's HTTP client: a connection pool per checked address and name, so
    consecutive events to one endpoint reuse a connection. Not for sharing between threads."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self.pools: dict[Target, urllib3.HTTPConnectionPool] = {}

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
        """POST ``body`` to ``url``; never raises for the receiver's (or the URL's) trouble."""
        at, started = utcnow(), time.monotonic()
        try:
            target = resolve(url, self.allow_private)
            answer = self._pool(target).urlopen(
                "POST",
                target.path,
                body=body,
                headers={**headers, "host": target.host_header},
                redirect=False,
                retries=False,
                timeout=TIMEOUT,
                assert_same_host=False,
            )
            excerpt = answer.data.decode(errors="replace")[:EXCERPT]
        except UnsafeTarget as refusal:
            return Outcome(None, f"refused: {refusal}", at)
        except (urllib3.exceptions.HTTPError, OSError) as error:
            return Outcome(None, f"{type(error).__name__}: {error}"[:EXCERPT], at, _ms(started))
        return Outcome(answer.status, excerpt, at, _ms(started))

    def close(self) -> None:
        """Close every connection this client holds."""
        for pool in self.pools.values():
            pool.close()
        self.pools.clear()

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        # Keyed by the whole target: a new address (the name moved) gets a new connection.
        key = Target(target.scheme, target.host, target.port, "", target.address)
        pool = self.pools.get(key)
        if pool is None:
            if target.scheme == "https":
                pool = urllib3.HTTPSConnectionPool(
                    target.address,
                    target.port,
                    maxsize=1,
                    server_hostname=target.host,
                    cert_reqs="CERT_REQUIRED",
                    ca_certs=requests.certs.where(),
                )
            else:
                pool = urllib3.HTTPConnectionPool(target.address, target.port, maxsize=1)
            self.pools[key] = pool
        return pool


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
