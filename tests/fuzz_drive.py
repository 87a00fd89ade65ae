"""The fuzz loop: hostile input through the real doors, and what became of every single input.

Mail goes through the mailbox fetch's own parse and intake (``read_mail`` and ``ingest_batch``,
in batches as a fetch takes them); Twilio forms through the signed webhook and the worker's inbox
intake; chat requests through the widget's endpoints. Each input ends in one outcome, and an
outcome is a failure when an exception escaped, the answer was a 5xx, a refusal said nothing
clear, or an input that was accepted cannot be found afterwards (lost).

Run inside an application context on a migrated database: bench/fuzz.py for 10,000 inputs of
each kind, tests/test_fuzz_sample.py for a seeded sample.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Flask, current_app
from fuzz_inputs import ChatRequest, chat_request, twilio_form
from fuzz_mail import MAILBOX, mutated_mail
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from channels.base import Channel
from channels.email.parse import dedupe_key, read_mail
from helpdesk.chat import sites, visitors
from helpdesk.extensions import db
from helpdesk.inbox import process_due
from helpdesk.mail.intake import BATCH_SIZE, ingest_batch
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox, mailbox_for, own_addresses
from helpdesk.models import ChatConversation, InboundEmail, InboxItem, Message, Role, User, utcnow
from helpdesk.storage import blob_store

# Mail is taken in batches as the mailbox fetch takes it; webhooks wait for the worker's inbox
# intake as many at a time.
BATCH = BATCH_SIZE
TWILIO_AUTH_TOKEN = "fuzz-auth-token"
CHAT_ORIGIN = "https://shop.example"
UNLIMITED = "1000000 per minute"


@dataclass(frozen=True, slots=True)
class Failure:
    """An input that crashed, got a 5xx, an unclear refusal, or was lost; kept to replay it."""

    kind: str
    case: int
    problem: str
    data: bytes
    suffix: str


@dataclass(slots=True)
class Tally:
    """What happened to each input of one kind."""

    kind: str
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def count(self) -> int:
        return sum(self.outcomes.values())

    def fail(self, case: int, problem: str, data: bytes, suffix: str) -> None:
        what, last = problem.split(":", 1)[0], problem.strip().splitlines()[-1]
        self.outcomes[f"FAILED ({what}): {last.strip()[:80]}"] += 1
        self.failures.append(Failure(self.kind, case, problem, data, suffix))


def _last_lines(error: BaseException) -> str:
    lines = traceback.format_exception(error)
    return "".join(lines[-6:]).strip()


class _ServerErrors(logging.Handler):
    """The traceback behind the latest 500 answer: the app logs it, its error page hides it."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = _last_lines(record.exc_info[1])

    def said(self, answer) -> str:
        """What went wrong behind a 5xx answer."""
        last, self.last = self.last, ""
        return f"{answer.status_code} answer: {last or answer.text[:300]}"


SERVER_ERRORS = _ServerErrors()


@contextmanager
def _listening_for_server_errors() -> Iterator[None]:
    logger = logging.getLogger("helpdesk.web.errors")
    # Alembic's logging set-up (run by the migrations) turns loggers made before it off.
    disabled, logger.disabled = logger.disabled, False
    logger.addHandler(SERVER_ERRORS)
    try:
        yield
    finally:
        logger.removeHandler(SERVER_ERRORS)
        logger.disabled = disabled


# --- mail ---------------------------------------------------------------------------------------


# Quarantine reasons that name a database error: what the database refused, not the mail.
_DATABASE_REFUSALS = ("DataError", "IntegrityError", "ProgrammingError", "OperationalError")


def fuzz_mail(seed: int, count: int) -> Tally:
    """Mutated sample mails through the fetch's parse and intake; commits per batch."""
    tally = Tally("mail")
    mailbox = mailbox_for(MAILBOX) or _fuzz_mailbox()
    own = own_addresses()
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        cases = range(first, min(count, first + BATCH))
        raws = {case: mutated_mail(seed, case)[0] for case in cases}
        uids = {case: mailbox.last_uid + 1 + number for number, case in enumerate(cases)}
        _take_mail(mailbox, own, raws, uids, tally)
    tally.seconds = time.perf_counter() - started
    return tally


def _fuzz_mailbox():
    """A mailbox for the fuzzed mail; it is never connected to, the mail is handed in."""
    mailbox = add_mailbox(
        MailboxSettings(
            address=MAILBOX,
            imap_host="127.0.0.1",
            imap_user="fuzz",
            imap_password="unused",
            imap_security="none",
        )
    )
    mailbox.uidvalidity = 1
    db.session.commit()
    return mailbox


def _take_mail(mailbox, own, raws: dict[int, bytes], uids: dict[int, int], tally: Tally) -> None:
    """One batch as a fetch takes it; after an escaped error, each mail alone (the culprit)."""
    try:
        _ingest(mailbox, own, [(uids[case], raw) for case, raw in raws.items()])
    except Exception:
        db.session.rollback()
        for case, raw in raws.items():
            try:
                _ingest(mailbox, own, [(uids[case], raw)])
            except Exception as error:
                db.session.rollback()
                tally.fail(case, f"unhandled exception: {_last_lines(error)}", raw, "eml")
                raws = {c: r for c, r in raws.items() if c != case}
    _account_mail(mailbox, raws, uids, tally)


def _ingest(mailbox, own, fetched: list[tuple[int, bytes]]) -> None:
    ingest_batch(mailbox, read_mail(fetched, mailbox.address, own))
    mailbox.last_uid = max(uid for uid, _ in fetched)
    db.session.commit()


def _account_mail(mailbox, raws: dict[int, bytes], uids: dict[int, int], tally: Tally) -> None:
    """Every mail has its log row and its raw bytes, or is a copy of one that has."""
    keys = {case: dedupe_key(raw) for case, raw in raws.items()}
    rows = {
        row.dedupe_key: row
        for row in db.session.scalars(
            select(InboundEmail).where(
                InboundEmail.mailbox_id == mailbox.id,
                InboundEmail.dedupe_key.in_(set(keys.values())),
            )
        )
    }
    store = blob_store()
    for case, raw in raws.items():
        row = rows.get(keys[case])
        if row is None:
            tally.fail(case, "lost: no log row after intake", raw, "eml")
        elif row.uid != uids[case]:
            tally.outcomes["duplicate (a copy of an earlier mail)"] += 1
        elif store.get(row.raw_ref) != raw:
            tally.fail(case, "lost: the stored raw mail differs", raw, "eml")
        elif row.outcome == "stored" and row.message_id is None:
            tally.fail(case, "lost: stored without a message", raw, "eml")
        elif row.outcome == "quarantined" and (row.reason or "").startswith(_DATABASE_REFUSALS):
            # The mail was readable; the database refused what intake made of it.
            tally.fail(case, f"quarantined by the database: {row.reason}", raw, "eml")
        else:
            tally.outcomes[f"{row.outcome.value}"] += 1


# --- Twilio -------------------------------------------------------------------------------------


def fuzz_twilio(app: Flask, seed: int, count: int) -> Tally:
    """Signed, fuzzed webhook forms, then the worker's inbox intake after each batch."""
    tally = Tally("twilio")
    client = app.test_client()
    public_url = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/") + "/webhooks/twilio/sms"
    validator = RequestValidator(current_app.config["TWILIO_AUTH_TOKEN"])
    accepted: set[str] = set()
    recent: list[str] = []  # the sids a retried webhook may repeat
    started = time.perf_counter()
    for first in range(0, count, BATCH):
        posted: dict[int, tuple[str, bytes]] = {}
        for case in range(first, min(count, first + BATCH)):
            body = _form_body(twilio_form(seed, case, recent[-200:]))
            sid = _post_webhook(app, client, validator, public_url, case, body, tally)
            if sid in accepted:
                tally.outcomes["duplicate webhook (stored once)"] += 1
            elif sid is not None:
                posted[case] = (sid, body)
                accepted.add(sid)
                recent.append(sid)
        _run_inbox_intake(posted, tally)
    tally.seconds = time.perf_counter() - started
    return tally


def _form_body(pairs: list[tuple[str, str]]) -> bytes:
    """URL-encoded as Twilio posts it; half a surrogate pair goes as the bytes it would be."""
    return "&".join(f"{_quoted(name)}={_quoted(value)}" for name, value in pairs).encode("ascii")


def _quoted(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


def _post_webhook(app, client, validator, url, case: int, body: bytes, tally: Tally) -> str | None:
    """POST one form signed over what the server reads; the sid when the answer was 2xx."""
    content_type = "application/x-www-form-urlencoded"
    with app.test_request_context(method="POST", data=body, content_type=content_type) as seen:
        form = seen.request.form.copy()
    signature = validator.compute_signature(url, form)
    try:
        answer = client.post(
            "/webhooks/twilio/sms",
            data=body,
            content_type=content_type,
            headers={"X-Twilio-Signature": signature},
        )
    except Exception as error:
        tally.fail(case, f"unhandled exception: {_last_lines(error)}", body, "form")
        return None
    if answer.status_code >= 500:
        tally.fail(case, SERVER_ERRORS.said(answer), body, "form")
    elif answer.status_code == 403:
        tally.fail(case, f"a valid signature refused: {answer.text[:200]}", body, "form")
    elif answer.status_code >= 400:
        tally.outcomes[f"refused {answer.status_code} at the webhook"] += 1
    else:
        return form.get("MessageSid") or form.get("SmsMessageSid")
    return None


def _run_inbox_intake(posted: dict[int, tuple[str, bytes]], tally: Tally) -> None:
    """The worker's intake, then every accepted form accounted for in the inbox."""
    try:
        process_due()
    except Exception as error:
        db.session.rollback()
        for case, (_, body) in posted.items():
            tally.fail(case, f"inbox intake crashed: {_last_lines(error)}", body, "form")
        return
    items = {
        item.external_id: item
        for item in db.session.scalars(
            select(InboxItem).where(
                InboxItem.channel == Channel.SMS,
                InboxItem.external_id.in_({sid for sid, _ in posted.values()}),
            )
        )
    }
    for case, (sid, body) in posted.items():
        item = items.get(sid)
        if item is None:
            tally.fail(case, "lost: a 2xx answer but nothing in the inbox", body, "form")
        elif item.processed_at is not None and item.message_id is not None:
            tally.outcomes["stored"] += 1
        elif item.processed_at is not None:
            tally.outcomes["already stored (not taken twice)"] += 1
        elif item.error and item.next_attempt_at is None:
            tally.outcomes["refused by intake (kept with its reason)"] += 1
        else:
            tally.fail(case, f"intake error: {item.error}", body, "form")
    db.session.commit()


# --- chat ---------------------------------------------------------------------------------------


@contextmanager
def unlimited_chat(app: Flask) -> Iterator[None]:
    """The chat rate limits out of the way (a fuzzer is one very busy visitor)."""
    names = [name for name in app.config if name.startswith("HELPDESK_CHAT_LIMIT_")]
    before = {name: app.config[name] for name in names}
    app.config.update(dict.fromkeys(names, UNLIMITED))
    try:
        yield
    finally:
        app.config.update(before)


def fuzz_chat(app: Flask, seed: int, count: int) -> Tally:
    """Fuzzed widget requests: pre-chat forms, messages, typing, survey comments."""
    tally = Tally("chat")
    site = sites.add_site("Fuzz shop", [CHAT_ORIGIN])
    agent = _online_agent()
    db.session.commit()
    site_key, agent_id = site.address, agent.id
    client = app.test_client()
    tokens: list[str] = []
    client_ids: list[str] = []
    started = time.perf_counter()
    with unlimited_chat(app):
        for case in range(count):
            if case % BATCH == 0:
                _still_online(agent_id)
            request = chat_request(seed, case, site_key, CHAT_ORIGIN, tokens, client_ids)
            _post_chat(client, case, request, tally, tokens, client_ids)
    tally.seconds = time.perf_counter() - started
    return tally


def _online_agent() -> User:
    """Someone online, so a visitor who leaves no email may chat too."""
    agent = User(email="fuzz-agent@helpdesk.test", name="Fuzz Agent", role=Role.AGENT)
    agent.set_password("correct horse battery")
    agent.available, agent.last_seen_at = True, utcnow()
    db.session.add(agent)
    return agent


def _still_online(agent_id: int) -> None:
    db.session.get(User, agent_id).last_seen_at = utcnow()
    db.session.commit()


def _post_chat(client, case, request: ChatRequest, tally, tokens, client_ids) -> None:
    headers = {"Content-Type": request.content_type}
    if request.origin is not None:
        headers["Origin"] = request.origin
    try:
        answer = client.post(request.path, data=request.body, headers=headers)
    except Exception as error:
        tally.fail(case, f"unhandled exception: {_last_lines(error)}", request.body, "json")
        return
    error = (answer.get_json(silent=True) or {}).get("error") if answer.is_json else None
    if answer.status_code >= 500:
        tally.fail(case, SERVER_ERRORS.said(answer), request.body, "json")
    elif answer.status_code >= 400:
        said = isinstance(error, dict) and error.get("code") and error.get("message")
        # A path no chat endpoint has (a site key with a slash in it) gets the app's error page.
        if answer.status_code in (404, 405) and not said and answer.mimetype == "text/html":
            tally.outcomes[f"refused {answer.status_code} (no such endpoint)"] += 1
        elif not said:
            problem = f"unclear {answer.status_code}: {answer.text[:200]}"
            tally.fail(case, problem, request.body, "json")
        else:
            tally.outcomes[f"refused {answer.status_code} {error['code']}"] += 1
    else:
        _account_chat(case, request, answer, tally, tokens, client_ids)


def _account_chat(case, request: ChatRequest, answer, tally, tokens, client_ids) -> None:
    """A 2xx answer: what it says was stored can be found."""
    body = answer.get_json()
    if request.action == "start":
        token = body["token"]
        if db.session.get(ChatConversation, body["conversation"]) is None:
            tally.fail(case, "lost: a started conversation is missing", request.body, "json")
            return
        tokens.append(token)
        tally.outcomes["stored: conversation started"] += 1
    elif request.action == "message":
        sent = _json_of(request.body)
        conversation = visitors.conversation_for(sent["token"], current_app.config["SECRET_KEY"])
        external_id = f"{conversation.id}:{sent['client_id'].strip()}"
        found = db.session.scalar(
            select(Message.id).where(
                Message.channel == Channel.CHAT, Message.external_id == external_id
            )
        )
        if found is None:
            tally.fail(case, "lost: an accepted chat message is missing", request.body, "json")
            return
        client_ids.append(sent["client_id"])
        tally.outcomes["stored: message" if body["stored"] else "resent (stored once)"] += 1
    else:
        tally.outcomes[f"accepted: {request.action}"] += 1
    db.session.rollback()


def _json_of(body: bytes) -> dict:
    return json.loads(body.decode("utf-8", "surrogatepass"))


@contextmanager
def signed_twilio(app: Flask, public_url: str = "http://helpdesk.test") -> Iterator[None]:
    """Twilio webhooks verified with the fuzzer's auth token against a public URL."""
    keys = ("TWILIO_AUTH_TOKEN", "HELPDESK_PUBLIC_URL")
    before = {key: app.config.get(key) for key in keys}
    app.config.update(TWILIO_AUTH_TOKEN=TWILIO_AUTH_TOKEN, HELPDESK_PUBLIC_URL=public_url)
    try:
        yield
    finally:
        app.config.update(before)


KINDS = ("twilio", "chat", "mail")


def fuzz_all(
    app: Flask, seed: int, per_kind: int, kinds: tuple[str, ...] = KINDS
) -> Iterator[Tally]:
    """The kinds asked for, one after the other, on the app's database; each tally when done."""
    public_url = app.config.get("HELPDESK_PUBLIC_URL") or "http://helpdesk.test"
    with signed_twilio(app, public_url), _listening_for_server_errors():
        if "twilio" in kinds:
            yield fuzz_twilio(app, seed, per_kind)
        if "chat" in kinds:
            yield fuzz_chat(app, seed, per_kind)
        if "mail" in kinds:
            yield fuzz_mail(seed, per_kind)
