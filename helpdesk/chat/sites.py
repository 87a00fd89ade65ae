"""Chat sites: the websites that embed the widget, their origins, secret and mailbox.

A site is a chat ``Endpoint`` whose address is its public site key; its settings hold the
origins allowed to use it, the secret host sites sign user ids with, the mailbox offline
replies go out through, and the pre-chat "what can we help with?" choices.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from html import escape
from urllib.parse import urlsplit

from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Endpoint, Stage
from helpdesk.tickets import endpoints, stage_rules
from helpdesk.tickets.errors import InvalidInput

# What the pre-chat form offers when a site names no choices of its own.
DEFAULT_CHOICES: tuple[tuple[str, Stage], ...] = (
    ("Finding out what you offer", Stage.DISCOVERY),
    ("Choosing or buying", Stage.PURCHASE),
    ("Help with something I have", Stage.USE),
)


@dataclass(frozen=True, slots=True)
class Choice:
    label: str
    stage: Stage


def normalize_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, as browsers send it in the Origin header."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"not a web origin: {origin!r} (use e.g. https://shop.example)")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise InvalidInput(f"an origin has no path: {origin!r}")
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def parse_pair(value: str, what: str) -> tuple[str, Stage]:
    """``LEFT=STAGE`` as the CLI and the admin form take URL rules and choices."""
    left, sep, stage = value.rpartition("=")
    if not sep or not left.strip():
        raise InvalidInput(f"{what} must look like TEXT=STAGE, not {value!r}")
    try:
        return left.strip(), Stage(stage.strip().lower())
    except ValueError:
        raise InvalidInput(f"unknown stage {stage!r} in {value!r}") from None


def add_site(
    name: str,
    origins: list[str],
    *,
    stage: Stage | None = None,
    mailbox: str | None = None,
    url_rules: list[tuple[str, Stage]] = (),
    choices: list[tuple[str, Stage]] = (),
) -> Endpoint:
    """Register a site; its URL rules become stage rules of the one engine. Flushes."""
    name = name.strip()
    if not name:
        raise InvalidInput("a site needs a name")
    allowed = sorted({normalize_origin(origin) for origin in origins})
    if not allowed:
        raise InvalidInput("a site needs at least one origin")
    if mailbox:
        mailbox = endpoints.endpoint_for(Channel.EMAIL, mailbox).address
    site = Endpoint(
        channel=Channel.CHAT,
        address=secrets.token_urlsafe(12),
        name=name,
        default_stage=stage,
        settings={
            "origins": allowed,
            "secret": secrets.token_hex(32),
            "mailbox": mailbox,
            "choices": _choices_setting(choices or DEFAULT_CHOICES),
        },
    )
    db.session.add(site)
    db.session.flush()
    for pattern, rule_stage in url_rules:
        conditions = {
            "channel": Channel.CHAT.value,
            "endpoint": site.address,
            "url_pattern": pattern,
        }
        stage_rules.add_rule(f"{name}: {pattern}", rule_stage, conditions)
    return site


def complete_site(site: Endpoint, origins: list[str], *, mailbox: str | None = None) -> Endpoint:
    """Make a chat endpoint a usable site, keeping what it has set: the origins are added, a
    secret and the default choices made when missing, the mailbox named when it has none."""
    settings = dict(site.settings or {})
    known = set(settings.get("origins", []))
    settings["origins"] = sorted(known | {normalize_origin(origin) for origin in origins})
    settings.setdefault("secret", secrets.token_hex(32))
    settings.setdefault("choices", _choices_setting(DEFAULT_CHOICES))
    if mailbox and not settings.get("mailbox"):
        settings["mailbox"] = endpoints.endpoint_for(Channel.EMAIL, mailbox).address
    site.settings = settings  # a new dict: the JSON column sees no change made in place
    db.session.flush()
    return site


def _choices_setting(choices: list[tuple[str, Stage]]) -> list[list[str]]:
    return [[label, stage.value] for label, stage in choices]


def all_sites() -> list[Endpoint]:
    return list(
        db.session.scalars(
            select(Endpoint).where(Endpoint.channel == Channel.CHAT).order_by(Endpoint.name)
        )
    )


def site_by_key(key: str) -> Endpoint | None:
    """The registered site with this key; sites are only made by ``add_site``."""
    site = db.session.scalar(
        select(Endpoint).where(Endpoint.channel == Channel.CHAT, Endpoint.address == key)
    )
    return site if site is not None and site.settings.get("secret") else None


def origin_allowed(site: Endpoint, origin: str | None) -> bool:
    """True when a browser page on ``origin`` may use this site's chat."""
    return origin_listed(site.settings, origin)


def origin_listed(settings: dict, origin: str | None) -> bool:
    """True when a browser page on ``origin`` may use the chat of the site with ``settings``."""
    if not origin:
        return False
    try:
        return normalize_origin(origin) in settings.get("origins", [])
    except InvalidInput:
        return False


def origin_registered(origin: str | None) -> bool:
    """True when some site lists ``origin`` (for preflight requests, which carry no site)."""
    return origin is not None and any(origin_allowed(site, origin) for site in all_sites())


def secret_of(site: Endpoint) -> str:
    return site.settings["secret"]


def mailbox_of(site: Endpoint) -> Endpoint | None:
    """The email endpoint offline replies go out through, if the site names one."""
    address = site.settings.get("mailbox")
    return endpoints.endpoint_for(Channel.EMAIL, address) if address else None


def choices_of(site: Endpoint) -> list[Choice]:
    return [Choice(label, Stage(stage)) for label, stage in site.settings.get("choices", [])]


def embed_snippet(site: Endpoint, public_url: str) -> str:
    """The one tag a site pastes into its pages."""
    src = f"{public_url.rstrip('/')}/chat/widget.js"
    return f'<script src="{escape(src)}" data-site="{escape(site.address)}" async></script>'


def logged_in_snippet(site: Endpoint, public_url: str) -> str:
    """The same tag with a logged-in user, for the host site's templates to fill in."""
    signed = ' data-user-id="USER_ID" data-user-hash="HEX_HMAC_SHA256(SECRET, USER_ID)"'
    return embed_snippet(site, public_url).replace(" async>", f"{signed} async>")
