"""Where webhooks may go: HTTPS to public addresses only, so an admin's URL cannot make the
helpdesk call its own network (SSRF). Checked when subscribing and again before every send,
because a name can resolve elsewhere later (DNS rebinding); a send then connects to the very
address that was checked, so no second lookup can point it elsewhere in between."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """The URL is not one webhooks may be sent to; the message says why."""


@dataclass(frozen=True, slots=True)
class Target:
    """One send's destination: the URL's name (for the Host header, the TLS server name and
    the certificate check) and the checked address to connect to instead of looking it up."""

    scheme: str
    host: str
    port: int
    path: str
    address: str

    @property
    def host_header(self) -> str:
        default = 443 if self.scheme == "https" else 80
        name = f"[{self.host}]" if ":" in self.host else self.host
        return name if self.port == default else f"{name}:{self.port}"


def check_url(url: str, allow_private: bool) -> None:
    """Refuse plain HTTP and hosts resolving to private, loopback, link-local or reserved
    addresses, unless ``allow_private`` (a test or an intranet receiver)."""
    parts = _allowed_parts(url, allow_private)
    if not allow_private:
        _public_addresses(parts)


def resolve(url: str, allow_private: bool) -> Target:
    """Check ``url`` as ``check_url`` does and pin the address to connect to: looked up once
    here, so what was checked is what is reached."""
    parts = _allowed_parts(url, allow_private)
    addresses = _addresses(parts) if allow_private else _public_addresses(parts)
    path = parts.path or "/"
    return Target(
        scheme=parts.scheme,
        host=parts.hostname or "",
        port=_port(parts),
        path=f"{path}?{parts.query}" if parts.query else path,
        address=str(addresses[0]),
    )


def _allowed_parts(url: str, allow_private: bool) -> SplitResult:
    parts = urlsplit(url)
    try:
        parts.port  # noqa: B018  (raises for a port that is no number or out of range)
    except ValueError as error:
        raise UnsafeTarget("Give a full https:// URL.") from error
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("Give a full https:// URL.")
    if not allow_private and parts.scheme != "https":
        raise UnsafeTarget("Webhooks are sent over HTTPS only.")
    return parts


def _public_addresses(parts: SplitResult) -> list[Address]:
    addresses = _addresses(parts)
    for address in addresses:
        if not address.is_global or address.is_multicast:
            raise UnsafeTarget(f"{parts.hostname} resolves to a private address ({address}).")
    return addresses


def _addresses(parts: SplitResult) -> list[Address]:
    """Every address the host resolves to, in the resolver's order."""
    host = parts.hostname or ""
    try:
        found = socket.getaddrinfo(host, _port(parts), proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(f"{host} cannot be resolved.") from error
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in found]
    # An IPv4 address wrapped in IPv6 is judged (and reached) as the IPv4 address it carries.
    return list(dict.fromkeys(getattr(a, "ipv4_mapped", None) or a for a in addresses))


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)
