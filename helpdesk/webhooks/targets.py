"""Where webhooks may go: HTTPS to public addresses only, so an admin's URL cannot make the
helpdesk call its own network (SSRF). Checked when subscribing and again before every send,
because a name can resolve elsewhere later (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeTarget(ValueError):
    """The URL is not one webhooks may be sent to; the message says why."""


def check_url(url: str, allow_private: bool) -> None:
    """Refuse plain HTTP and hosts resolving to private, loopback, link-local or reserved
    addresses, unless ``allow_private`` (a test or an intranet receiver)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeTarget("Give a full https:// URL.")
    if allow_private:
        return
    if parts.scheme != "https":
        raise UnsafeTarget("Webhooks are sent over HTTPS only.")
    for address in _addresses(parts.hostname, parts.port or 443):
        if not address.is_global or address.is_multicast:
            raise UnsafeTarget(f"{parts.hostname} resolves to a private address ({address}).")


def _addresses(host: str, port: int) -> set[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(f"{host} cannot be resolved.") from error
    addresses = {ipaddress.ip_address(info[4][0].split("%")[0]) for info in found}
    # An IPv4 address wrapped in IPv6 is judged as the IPv4 address it carries.
    return {getattr(a, "ipv4_mapped", None) or a for a in addresses}
