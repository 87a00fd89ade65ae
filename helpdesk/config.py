"""Configuration from the environment, with defaults that work on a fresh machine."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from limits import parse

from helpdesk.credentials import parse_keys

# Per process: one per request thread at most (gthread workers run hundreds for chat streams).
REDIS_MAX_CONNECTIONS = 2000
# HELPDESK_STAGE_MODEL: never ask the model, show its guess to agents, or let it decide when sure.
STAGE_MODEL_MODES = ("off", "suggest", "decide")


def load_config(app: Flask) -> None:
    """Fill ``app.config`` from the environment; nothing is read at import time."""
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    env = os.environ
    database_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'helpdesk.sqlite3'}"
    app.config.update(
        SECRET_KEY=env.get("SECRET_KEY") or _shared_secret_key(instance),
        HELPDESK_SECRETS_KEY=parse_keys(env.get("HELPDESK_SECRETS_KEY")),
        SQLALCHEMY_DATABASE_URI=_sqlalchemy_url(database_url),
        REDIS_URL=env.get("REDIS_URL"),
        HELPDESK_PUBLIC_URL=env.get("HELPDESK_PUBLIC_URL", "http://127.0.0.1:5000"),
        HELPDESK_TRUSTED_PROXIES=_count(
            "HELPDESK_TRUSTED_PROXIES", env.get("HELPDESK_TRUSTED_PROXIES", "0"), minimum=0
        ),
        HELPDESK_TIMEZONE=env.get("HELPDESK_TIMEZONE", "UTC"),
        HELPDESK_PHONE_REGION=env.get("HELPDESK_PHONE_REGION", "US").upper(),
        HELPDESK_BUSINESS_HOURS=env.get("HELPDESK_BUSINESS_HOURS", ""),
        HELPDESK_STORAGE_DIR=env.get("HELPDESK_STORAGE_DIR") or str(instance / "storage"),
        HELPDESK_REOPEN_DAYS=int(env.get("HELPDESK_REOPEN_DAYS", "7")),
        HELPDESK_MAX_SEND_ATTEMPTS=int(env.get("HELPDESK_MAX_SEND_ATTEMPTS", "8")),
        HELPDESK_WEBHOOKS_ALLOW_PRIVATE=_switch(
            "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", env.get("HELPDESK_WEBHOOKS_ALLOW_PRIVATE", "off")
        ),
        HELPDESK_WEBHOOK_CONCURRENCY=_count(
            "HELPDESK_WEBHOOK_CONCURRENCY", env.get("HELPDESK_WEBHOOK_CONCURRENCY", "8"), minimum=1
        ),
        HELPDESK_CSAT=_switch("HELPDESK_CSAT", env.get("HELPDESK_CSAT", "off")),
        HELPDESK_AUTO_ANSWERS_PER_HOUR=int(env.get("HELPDESK_AUTO_ANSWERS_PER_HOUR", "3")),
        # Outreach send rates (DESIGN.md): per SMS number and per mailbox.
        HELPDESK_OUTREACH_SMS_PER_SECOND=_rate(env, "HELPDESK_OUTREACH_SMS_PER_SECOND", "1"),
        HELPDESK_OUTREACH_EMAIL_PER_SECOND=_rate(env, "HELPDESK_OUTREACH_EMAIL_PER_SECOND", "10"),
        HELPDESK_MAIL_POLL_SECONDS=float(env.get("HELPDESK_MAIL_POLL_SECONDS", "30")),
        HELPDESK_MAIL_CA_FILE=_file("HELPDESK_MAIL_CA_FILE", env.get("HELPDESK_MAIL_CA_FILE")),
        # Flask-Limiter's counters: shared through Redis when there is one.
        RATELIMIT_STORAGE_URI=env.get("REDIS_URL") or "memory://",
        # redis-py caps a pool at 100 connections; a web process holds more threads than that.
        # Storage errors come as limits' StorageError, whatever the storage.
        RATELIMIT_STORAGE_OPTIONS={
            "max_connections": REDIS_MAX_CONNECTIONS,
            "wrap_exceptions": True,
        },
        # While Redis is unreachable each process counts on its own instead of failing requests.
        # Counting in memory has nothing to fall back from: a fault there would only switch the
        # counts to a second store that resets do not reach.
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=bool(env.get("REDIS_URL")),
        HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP=env.get(
            "HELPDESK_CHAT_LIMIT_CONVERSATIONS_PER_IP", "20 per hour"
        ),
        HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR=env.get(
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_VISITOR", "30 per minute"
        ),
        HELPDESK_CHAT_LIMIT_MESSAGES_PER_IP=env.get(
            "HELPDESK_CHAT_LIMIT_MESSAGES_PER_IP", "300 per minute"
        ),
        # Per API token (per address without one), counted where Flask-Limiter counts.
        HELPDESK_API_RATE_LIMIT=_rate_limit(env, "HELPDESK_API_RATE_LIMIT", "600 per minute"),
        # Scripts cannot read the login cookies and other sites' forms do not carry them.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        # Learned stage inference (helpdesk/stage_model): off, suggest to agents, or decide.
        HELPDESK_STAGE_MODEL=_choice(
            "HELPDESK_STAGE_MODEL", env.get("HELPDESK_STAGE_MODEL", "suggest"), STAGE_MODEL_MODES
        ),
        HELPDESK_STAGE_MODEL_THRESHOLD=_share(
            "HELPDESK_STAGE_MODEL_THRESHOLD", env.get("HELPDESK_STAGE_MODEL_THRESHOLD", "0.7")
        ),
        HELPDESK_STAGE_MODEL_MIN_PER_STAGE=int(env.get("HELPDESK_STAGE_MODEL_MIN_PER_STAGE", "20")),
        HELPDESK_STAGE_MODEL_RETRAIN_HOURS=float(
            env.get("HELPDESK_STAGE_MODEL_RETRAIN_HOURS", "24")
        ),
        HELPDESK_STAGE_MODEL_RETRAIN_CORRECTIONS=int(
            env.get("HELPDESK_STAGE_MODEL_RETRAIN_CORRECTIONS", "50")
        ),
        TWILIO_ACCOUNT_SID=env.get("TWILIO_ACCOUNT_SID"),
        TWILIO_AUTH_TOKEN=env.get("TWILIO_AUTH_TOKEN"),
        TWILIO_API_URL=env.get("TWILIO_API_URL", "https://api.twilio.com"),
    )


def secure_cookies(app: Flask, overrides: Mapping[str, object]) -> None:
    """Send the login cookies over HTTPS only when the helpdesk is served over HTTPS.

    Decided after the overrides, from the public URL they may change; the demo and the tests
    run on plain http://127.0.0.1, where a Secure cookie would never come back.
    """
    https = app.config["HELPDESK_PUBLIC_URL"].lower().startswith("https://")
    for name in ("SESSION_COOKIE_SECURE", "REMEMBER_COOKIE_SECURE"):
        if name not in overrides:
            app.config[name] = https


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> str:
    """One of a few words; anything else stops the start with a message naming the variable."""
    word = value.strip().lower()
    if word not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return word


def _share(name: str, value: str) -> float:
    """A number between 0 and 1; anything else stops the start naming the variable."""
    try:
        share = float(value)
    except ValueError:
        share = -1.0
    if not 0 <= share <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, not {value!r}")
    return share


def _switch(name: str, value: str) -> bool:
    """An on/off setting; anything else stops the start with a message naming the variable."""
    word = value.strip().lower()
    if word in {"on", "true", "yes", "1"}:
        return True
    if word in {"off", "false", "no", "0", ""}:
        return False
    raise ValueError(f"{name} must be on or off, not {value!r}")


def _count(name: str, value: str, minimum: int) -> int:
    """A whole number of at least ``minimum``; anything else stops the start naming the
    variable."""
    try:
        number = int(value.strip())
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise ValueError(f"{name} must be a whole number of {minimum} or more, not {value!r}")
    return number


def _rate_limit(env: Mapping[str, str], name: str, default: str) -> str:
    """A rate limit such as "600 per minute"; anything else stops the start naming the variable."""
    value = env.get(name, default)
    try:
        parse(value)
    except ValueError:
        raise ValueError(f"{name} must read like '600 per minute', not {value!r}") from None
    return value


def _rate(env: Mapping[str, str], name: str, default: str) -> float:
    """A positive number per second; anything else stops the start naming the variable."""
    value = env.get(name, default)
    try:
        rate = float(value)
    except ValueError:
        rate = 0.0
    if not rate > 0:
        raise ValueError(f"{name} must be a number of messages per second above 0, not {value!r}")
    return rate


def _file(name: str, value: str | None) -> str | None:
    """An optional file setting; a path to nothing stops the start rather than every fetch."""
    if not value:
        return None
    if not Path(value).is_file():
        raise ValueError(f"{name} names no file: {value!r}")
    return value


def _shared_secret_key(instance: Path) -> str:
    """Generate the key once into the instance folder so every process of one install agrees."""
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _sqlalchemy_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants an explicit driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def engine_options(url: str) -> dict:
    """Connection settings that suit the database the URL names."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30}}
    return {"pool_pre_ping": True}
