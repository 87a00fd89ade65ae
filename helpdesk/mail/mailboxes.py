"""Mailbox administration: the service functions the CLI and the admin screens call.

Each function validates, flushes and leaves the commit to its caller.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from flask import current_app
from sqlalchemy import delete, func, select

from channels.base import Channel, TemporaryFailure
from channels.email.imap import ImapError, ImapSettings
from channels.email.smtp import SmtpSettings
from helpdesk import credentials
from helpdesk.extensions import db
from helpdesk.models import (
    Endpoint,
    InboundEmail,
    IntakeOutcome,
    Mailbox,
    Security,
    Stage,
    StageRule,
)
from helpdesk.tickets import endpoints, stage_rules
from helpdesk.tickets.customers import normalize_email
from helpdesk.tickets.errors import InvalidInput

# Changing where mail is read from starts a new checkpoint; dedupe keys keep it duplicate-free.
_CHECKPOINT_FIELDS = {"imap_host", "imap_port", "imap_user", "folder"}
_UNREADABLE = (
    "cannot decrypt the {} password: was SECRET_KEY or HELPDESK_SECRETS_KEY changed? "
    "Enter the password again"
)


class UnreadablePassword(ImapError):
    """The stored IMAP password cannot be decrypted: the fetch fails on this mailbox only."""


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """Everything an admin sets on a mailbox (the add form, the CLI options).

    On an update an empty password keeps the stored one, as a password field left blank does.
    """

    address: str
    imap_host: str
    imap_user: str
    imap_password: str
    imap_port: int = 993
    imap_security: str = Security.TLS
    folder: str = "INBOX"
    processed_folder: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    smtp_security: str = Security.NONE
    smtp_user: str | None = None
    smtp_password: str | None = None
    stage: str | None = None  # the endpoint's default stage
    aliases: tuple[tuple[str, str], ...] = ()  # (receiving address, stage) rules
    acknowledge: bool = False  # answer each new ticket with its number
    enabled: bool = True


def add_mailbox(settings: MailboxSettings) -> Mailbox:
    """Register a mailbox for its address; InvalidInput when a setting cannot work."""
    _validate(settings)
    if not settings.imap_password:
        raise InvalidInput("the IMAP password is required")
    endpoint = endpoints.endpoint_for(Channel.EMAIL, settings.address)
    if db.session.scalar(select(Mailbox.id).where(Mailbox.endpoint_id == endpoint.id)):
        raise InvalidInput(f"a mailbox for {endpoint.address} exists already")
    mailbox = Mailbox(endpoint=endpoint, last_uid=0, fetched_count=0, quarantined_count=0)
    _apply(mailbox, settings)
    _store_passwords(mailbox, settings)
    db.session.add(mailbox)
    db.session.flush()
    return mailbox


def update_mailbox(mailbox: Mailbox, **changes: object) -> Mailbox:
    """Change some settings of a mailbox (not its address); aliases given are added or updated."""
    current = settings_of(mailbox)
    unknown = set(changes) - ({f.name for f in fields(MailboxSettings)} - {"address"})
    if unknown:
        raise InvalidInput(f"cannot change {', '.join(sorted(unknown))}")
    updated = replace(current, **changes)
    _validate(updated)
    if any(getattr(current, name) != getattr(updated, name) for name in _CHECKPOINT_FIELDS):
        mailbox.uidvalidity, mailbox.last_uid = None, 0
    _apply(mailbox, updated)
    _store_passwords(mailbox, updated)
    db.session.flush()
    return mailbox


def rotate_secrets() -> list[Mailbox]:
    """Re-encrypt every stored password with the newest key; the mailboxes no key opens."""
    unreadable = []
    for mailbox in list_mailboxes():
        try:
            mailbox.imap_password_encrypted = credentials.reencrypt(mailbox.imap_password_encrypted)
            if mailbox.smtp_password_encrypted:
                mailbox.smtp_password_encrypted = credentials.reencrypt(
                    mailbox.smtp_password_encrypted
                )
        except credentials.UnreadableCredential:
            unreadable.append(mailbox)
    db.session.flush()
    return unreadable


def remove_mailbox(mailbox: Mailbox) -> None:
    """Stop reading and sending through a mailbox; its tickets and stored mail stay."""
    db.session.execute(delete(InboundEmail).where(InboundEmail.mailbox_id == mailbox.id))
    db.session.delete(mailbox)
    db.session.flush()


def list_mailboxes() -> list[Mailbox]:
    """Every mailbox by address."""
    return list(db.session.scalars(select(Mailbox).join(Mailbox.endpoint).order_by("address")))


def mailbox_for(address: str) -> Mailbox | None:
    """The mailbox of an address, if there is one."""
    return db.session.scalar(
        select(Mailbox)
        .join(Mailbox.endpoint)
        .where(Endpoint.channel == Channel.EMAIL, Endpoint.address == normalize_email(address))
    )


def quarantined(mailbox: Mailbox | None = None, limit: int = 100) -> list[InboundEmail]:
    """Mail that could not be taken in, newest first, for admins to look at."""
    query = select(InboundEmail).where(InboundEmail.outcome == IntakeOutcome.QUARANTINED)
    if mailbox is not None:
        query = query.where(InboundEmail.mailbox_id == mailbox.id)
    return list(db.session.scalars(query.order_by(InboundEmail.id.desc()).limit(limit)))


def outcome_counts(mailbox: Mailbox) -> dict[str, int]:
    """How many emails of this mailbox ended in each outcome."""
    rows = db.session.execute(
        select(InboundEmail.outcome, func.count())
        .where(InboundEmail.mailbox_id == mailbox.id)
        .group_by(InboundEmail.outcome)
    )
    return {outcome.value: count for outcome, count in rows}


def own_addresses() -> set[str]:
    """Our mailboxes and aliases: mail from them is a loop, mail to them names the alias."""
    mailboxes = {mailbox.address for mailbox in list_mailboxes()}
    aliases = db.session.scalars(
        select(StageRule.recipient).where(
            StageRule.channel == Channel.EMAIL, StageRule.recipient.is_not(None)
        )
    )
    return mailboxes | {alias.lower() for alias in aliases}


def imap_settings(mailbox: Mailbox) -> ImapSettings:
    """What the IMAP client needs to read this mailbox."""
    return ImapSettings(
        host=mailbox.imap_host,
        port=mailbox.imap_port,
        security=mailbox.imap_security.value,
        user=mailbox.imap_user,
        password=_imap_password(mailbox),
        folder=mailbox.folder,
        processed_folder=mailbox.processed_folder,
        ca_file=_ca_file(),
    )


def smtp_settings_for(address: str) -> SmtpSettings | None:
    """What the SMTP adapter needs to send from this address; None when it has no server."""
    mailbox = mailbox_for(address)
    if mailbox is None or not mailbox.smtp_host:
        return None
    return SmtpSettings(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port or 25,
        security=mailbox.smtp_security.value,
        address=mailbox.address,
        user=mailbox.smtp_user,
        password=_smtp_password(mailbox),
        display_name=mailbox.endpoint.name,
        ca_file=_ca_file(),
    )


def _imap_password(mailbox: Mailbox) -> str:
    try:
        return credentials.decrypt(mailbox.imap_password_encrypted)
    except credentials.UnreadableCredential:
        raise UnreadablePassword(_UNREADABLE.format("IMAP")) from None


def _smtp_password(mailbox: Mailbox) -> str | None:
    if mailbox.smtp_password_encrypted is None:
        return None
    try:
        return credentials.decrypt(mailbox.smtp_password_encrypted)
    except credentials.UnreadableCredential:
        # Temporary: the reply goes out once an admin enters the password again.
        raise TemporaryFailure("smtp-password", _UNREADABLE.format("SMTP")) from None


def _ca_file() -> str | None:
    """HELPDESK_MAIL_CA_FILE: the in-house CA mail servers' certificates may be signed by."""
    return current_app.config.get("HELPDESK_MAIL_CA_FILE")


def settings_of(mailbox: Mailbox) -> MailboxSettings:
    """The settings of a mailbox as an admin form would show them: passwords left empty."""
    return MailboxSettings(
        address=mailbox.address,
        imap_host=mailbox.imap_host,
        imap_port=mailbox.imap_port,
        imap_security=mailbox.imap_security.value,
        imap_user=mailbox.imap_user,
        imap_password="",
        folder=mailbox.folder,
        processed_folder=mailbox.processed_folder,
        smtp_host=mailbox.smtp_host,
        smtp_port=mailbox.smtp_port,
        smtp_security=mailbox.smtp_security.value,
        smtp_user=mailbox.smtp_user,
        stage=mailbox.endpoint.default_stage.value if mailbox.endpoint.default_stage else None,
        acknowledge=mailbox.acknowledge,
        enabled=mailbox.enabled,
    )


def _validate(settings: MailboxSettings) -> None:
    normalize_email(settings.address)
    for label, security in (("IMAP", settings.imap_security), ("SMTP", settings.smtp_security)):
        if security not in Security.__members__.values():
            raise InvalidInput(f"{label} security must be none, starttls or tls, not {security!r}")
    for label, port in (("IMAP", settings.imap_port), ("SMTP", settings.smtp_port)):
        if port is not None and not 0 < port < 65536:
            raise InvalidInput(f"{label} port must be between 1 and 65535, not {port}")
    if not settings.imap_host.strip() or not settings.imap_user.strip():
        raise InvalidInput("the IMAP host and user are required")
    if not settings.folder.strip():
        raise InvalidInput("the folder must not be empty")
    if settings.processed_folder is not None and settings.processed_folder == settings.folder:
        raise InvalidInput("the processed folder must differ from the folder read")
    for stage in [settings.stage, *(stage for _, stage in settings.aliases)]:
        if stage is not None and stage not in Stage.__members__.values():
            raise InvalidInput(f"unknown stage {stage!r}")
    for alias, _ in settings.aliases:
        normalize_email(alias)


def _apply(mailbox: Mailbox, settings: MailboxSettings) -> None:
    for name in (
        "imap_host",
        "imap_port",
        "imap_user",
        "folder",
        "processed_folder",
        "smtp_host",
        "smtp_port",
        "smtp_user",
        "acknowledge",
        "enabled",
    ):
        setattr(mailbox, name, getattr(settings, name))
    mailbox.imap_security = Security(settings.imap_security)
    mailbox.smtp_security = Security(settings.smtp_security)
    mailbox.endpoint.default_stage = Stage(settings.stage) if settings.stage else None
    for alias, stage in settings.aliases:
        _alias_rule(normalize_email(alias), Stage(stage))


def _store_passwords(mailbox: Mailbox, settings: MailboxSettings) -> None:
    if settings.imap_password:
        mailbox.imap_password_encrypted = credentials.encrypt(settings.imap_password)
    if settings.smtp_password:
        mailbox.smtp_password_encrypted = credentials.encrypt(settings.smtp_password)


def _alias_rule(alias: str, stage: Stage) -> None:
    """``--alias ADDRESS=STAGE`` is a rule of the one stage engine, not a channel setting."""
    conditions = {"channel": Channel.EMAIL.value, "recipient": alias}
    stage_rules.put_rule(f"email alias {alias}", stage, conditions)
