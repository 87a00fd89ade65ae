"""Privacy: an admin exports everything held about a customer, and erases a customer while the
stage reports keep their figures."""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from test_chat import Widget
from test_sms import sms_form

from channels.base import Channel
from channels.webchat import host_user_hash
from helpdesk import inbox
from helpdesk.extensions import db
from helpdesk.mail.intake import hand_in
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox
from helpdesk.models import (
    Attachment,
    AuditEvent,
    ChatConversation,
    ChatEvent,
    Customer,
    CustomerIdentity,
    IdentityKind,
    InboundEmail,
    InboxItem,
    IntakeOutcome,
    Mailbox,
    Message,
    Role,
    Suppression,
    Survey,
    Ticket,
    TicketEvent,
    utcnow,
)
from helpdesk.privacy import confirms_erasure, erase_customer, export_customer
from helpdesk.reports.stage_load import ReportRange, stage_load
from helpdesk.storage import blob_store
from helpdesk.tickets import search, service
from helpdesk.tickets import sms as sms_numbers
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.outbound import ERASED_RECIPIENT

ANN = "ann@example.com"
ANN_PHONE = "+15550002000"
ANN_HOST_USER = "shop-user-77"
SHARED_FILE = b"%PDF-1.4 the grinder manual, sent by everyone\n"
PRIVATE_FILE = b"Ann's receipt: order 1042, card ending 4242\n"


@dataclass
class Ann:
    """The ids and storage keys of one customer who wrote on every channel."""

    customer_id: int
    email_ticket_id: int
    raw_key: str
    shared_key: str
    private_key: str
    quarantined_key: str
    bob_id: int


def mail_with_files(sender: str, name: str, subject: str, text: str, files: dict) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = "help@shop.test"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{subject.replace(' ', '-')}@{sender.split('@')[1]}>"
    mail.set_content(text)
    for filename, data in files.items():
        mail.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return mail.as_bytes()


@pytest.fixture
def ann(app: Flask, client, setup, make_user, make_site, make_token) -> Ann:
    """Ann by email (raw .eml, one file shared with Bob's ticket, one her own), by SMS (an inbox
    item), in chat (a conversation and its events), a quarantined mail of hers, a survey
    comment, and audit rows about her; Bob shares one of her files."""
    with setup():
        make_user(available=True)  # someone online, so the chat is live
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        sms_numbers.add_number(number="+15550001111", stage="use")
        site = make_site()
        site_key, secret = site.address, site.settings["secret"]
        raw = mail_with_files(
            ANN,
            "Ann Lee",
            "Grinder clicking",
            "It clicks since I cleaned the burrs.",
            {"manual.pdf": SHARED_FILE, "receipt.txt": PRIVATE_FILE},
        )
        taken = hand_in(mailbox, raw)
        bob_mail = mail_with_files(
            "bob@example.com", "Bob Ray", "Manual question", "Page 3?", {"m.pdf": SHARED_FILE}
        )
        bob = hand_in(mailbox, bob_mail).message.ticket.customer_id
        customer = taken.message.ticket.customer
        customer.name = "Ann Lee"
        for kind, value in (
            (IdentityKind.PHONE, ANN_PHONE),
            (IdentityKind.HOST_USER, ANN_HOST_USER),
        ):
            db.session.add(
                CustomerIdentity(customer=customer, kind=kind, value=value, verified_at=utcnow())
            )
        quarantined_raw = b"From: Ann Lee <ANN@example.com>\r\nSubject: =?broken\r\n\r\n\xff\xfe"
        quarantined = InboundEmail(
            mailbox=mailbox,
            uidvalidity=1,
            uid=7,
            dedupe_key="q" * 64,
            raw_ref=blob_store().put(quarantined_raw),
            size=len(quarantined_raw),
            outcome=IntakeOutcome.QUARANTINED,
            reason="could not parse",
        )
        db.session.add(quarantined)
        keys = {a.filename: a.storage_key for a in taken.message.attachments}
        ids = (customer.id, taken.message.ticket_id, taken.raw_ref, quarantined.raw_ref)
        db.session.add(
            Survey(
                ticket_id=taken.message.ticket_id,
                channel=Channel.EMAIL,
                score=4,
                comment="Ann says the burrs are fine now",
                answered_at=utcnow(),
            )
        )
    with setup():
        form = sms_form("TRACK order 1042 please", From=ANN_PHONE)
        inbox.accept(
            db.session.connection(), Channel.SMS, form["MessageSid"], form, sender=ANN_PHONE
        )
    with setup():
        inbox.process_due()
    widget = Widget(client, site_key)
    assert widget.start(user_id=ANN_HOST_USER, user_hash=host_user_hash(secret, ANN_HOST_USER))
    assert widget.send("Is the espresso blend in stock?").status_code in (200, 201)
    with setup():
        token = make_token(make_user(role=Role.AGENT))
    headers = {"Authorization": f"Bearer {token}"}
    note = {"text": f"Ann asked to be called back, {ANN}"}
    assert (
        client.post(f"/api/v1/tickets/{ids[1]}/notes", json=note, headers=headers).status_code
        == 201
    )
    patch = {"status": "pending"}
    assert client.patch(f"/api/v1/tickets/{ids[1]}", json=patch, headers=headers).status_code == 200
    macro = {"name": "Ann's callback", "text": f"We will write to {ANN} soon."}
    assert client.post("/api/v1/macros", json=macro, headers=headers).status_code == 201
    return Ann(
        ids[0],
        ids[1],
        ids[2],
        keys["manual.pdf"],
        keys["receipt.txt"],
        ids[3],
        bob,
    )


def stored(app: Flask, key: str) -> bool:
    root = Path(app.config["HELPDESK_STORAGE_DIR"])
    return (root / key[:2] / key[2:4] / key).exists()


def found_by_search(query: str) -> list[int]:
    condition = search.tickets_matching(query, db.session.get_bind().dialect.name)
    return list(db.session.scalars(select(Ticket.id).where(condition)))


def report_rows() -> list[dict]:
    today = utcnow().date()
    return stage_load(ReportRange(today - timedelta(days=1), today + timedelta(days=1))).rows()


def count(model, *conditions) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*conditions))


def test_the_export_holds_every_row_and_file_about_the_customer(ctx, ann):
    customer = db.session.get(Customer, ann.customer_id)
    archive = zipfile.ZipFile(io.BytesIO(export_customer(customer)))
    db.session.commit()
    names = set(archive.namelist())
    assert {
        "customer.json",
        f"files/{ann.shared_key}",
        f"files/{ann.private_key}",
        f"files/{ann.raw_key}.eml",
        f"files/{ann.quarantined_key}.eml",
    } <= names
    assert archive.read(f"files/{ann.private_key}") == PRIVATE_FILE
    document = json.loads(archive.read("customer.json"))
    assert document["customer"]["name"] == "Ann Lee"
    assert {i["value"] for i in document["identities"]} >= {ANN, ANN_PHONE, ANN_HOST_USER}
    texts = [m["text"] for t in document["tickets"] for m in t["messages"]]
    assert "It clicks since I cleaned the burrs." in texts
    assert "TRACK order 1042 please" in texts
    assert "Is the espresso blend in stock?" in texts
    email_ticket = next(t for t in document["tickets"] if t["id"] == ann.email_ticket_id)
    first = email_ticket["messages"][0]
    assert first["sender"] == ANN and first["raw"] == f"files/{ann.raw_key}.eml"
    assert {a["filename"]: a["file"] for a in first["attachments"]} == {
        "manual.pdf": f"files/{ann.shared_key}",
        "receipt.txt": f"files/{ann.private_key}",
    }
    assert email_ticket["survey"]["comment"] == "Ann says the burrs are fine now"
    assert any(e["kind"] == "note" for e in email_ticket["events"])
    [conversation] = document["chat_conversations"]
    assert conversation["host_user_id"] == ANN_HOST_USER and conversation["events"]
    [item] = document["inbox_items"]
    assert item["sender"] == ANN_PHONE and item["payload"]["Body"] == "TRACK order 1042 please"
    outcomes = {e["outcome"] for e in document["emails"]}
    assert outcomes == {"stored", "quarantined"}
    audited = {(e["action"], e["target_type"]) for e in document["audit_events"]}
    assert ("api.create_note", "ticket") in audited and ("macro.created", "macro") in audited
    exported = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer.exported"))
    assert exported.target_id == str(ann.customer_id) and exported.after["files"] == 4


def test_erasing_removes_everything_personal_and_keeps_the_report_figures(app, ctx, ann):
    before = report_rows()
    assert found_by_search("burrs") == [ann.email_ticket_id]
    assert ann.email_ticket_id in found_by_search(ANN) and found_by_search(ANN_PHONE)
    customer = db.session.get(Customer, ann.customer_id)
    ticket_ids = set(db.session.scalars(select(Ticket.id).where(Ticket.customer_id == customer.id)))
    assert len(ticket_ids) == 3  # email, SMS, chat

    erasure = erase_customer(customer)
    db.session.commit()
    db.session.expire_all()

    assert erasure.tickets_kept == 3 and erasure.identities_removed == 4
    assert erasure.attachments_removed == 2 and erasure.stray_emails_removed == 1
    # The private file, her raw mail and the quarantined copy; the shared manual stays.
    assert erasure.files_removed == 3
    assert stored(app, ann.shared_key)
    for key in (ann.private_key, ann.raw_key, ann.quarantined_key):
        assert not stored(app, key)
    assert (
        db.session.scalar(
            select(Attachment.filename).where(Attachment.storage_key == ann.shared_key)
        )
        == "m.pdf"
    )

    customer = db.session.get(Customer, ann.customer_id)
    assert customer.name == "Erased customer" and customer.erased_at is not None
    assert count(CustomerIdentity, CustomerIdentity.customer_id == customer.id) == 0
    theirs = Message.ticket_id.in_(ticket_ids)
    assert count(Message, theirs) == erasure.messages_blanked
    assert count(Message, theirs, Message.text != "") == 0
    assert count(Message, theirs, Message.sender.in_((ANN, ANN_PHONE, ANN_HOST_USER))) == 0
    assert count(Message, theirs, Message.sender.like("visitor-%")) == 0
    assert count(Message, theirs, Message.raw_ref.is_not(None)) == 0
    assert count(Attachment, Attachment.message_id.in_(select(Message.id).where(theirs))) == 0
    assert count(ChatConversation) == 0
    # Only Bob's message event is left in the live log.
    assert [e.ticket_id for e in db.session.scalars(select(ChatEvent))] == [
        db.session.scalar(select(Ticket.id).where(Ticket.customer_id == ann.bob_id))
    ]
    assert count(InboxItem) == 0
    assert count(InboundEmail, InboundEmail.outcome == IntakeOutcome.QUARANTINED) == 0
    assert set(db.session.scalars(select(Ticket.subject).where(Ticket.id.in_(ticket_ids)))) == {
        "(erased)"
    }
    assert db.session.scalar(select(Survey.comment)) is None
    assert db.session.scalar(select(Survey.score)) == 4
    notes = db.session.scalars(select(TicketEvent).where(TicketEvent.kind == "note"))
    assert {event.to_value for event in notes} == {"(erased)"}

    for query in ("burrs", "espresso", "TRACK", "clicking", "Grinder", ANN, ANN_PHONE, "erased"):
        assert found_by_search(query) == [], query
    # Nor does the index's list of words hold hers, which a prefix would spell out.
    for prefix in ("bur", "espr", "click", "grind"):
        assert search.prefix_words(db.session.connection(), prefix, 40) == [], prefix
    # Bob's ticket is still found by its words.
    assert found_by_search("manual") != []

    dumped = json.dumps([(row.before, row.after) for row in db.session.scalars(select(AuditEvent))])
    for personal in (ANN, "Ann Lee", "Ann asked", ANN_PHONE):
        assert personal not in dumped
    # A row about something else loses only the values that quote her.
    macro = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "macro.created"))
    assert macro.after["name"] == "Ann's callback" and macro.after["text"] == "(erased)"
    erased = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer.erased"))
    assert erased.target_id == str(ann.customer_id)
    assert erased.after == erasure.counts()
    # The status change on her ticket keeps its value: it is no personal data.
    patched = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "api.update_ticket"))
    assert patched.after == {"status": "pending"}

    assert report_rows() == before


def test_mail_from_an_erased_address_makes_a_new_customer(ctx, ann):
    erase_customer(db.session.get(Customer, ann.customer_id))
    db.session.commit()
    mailbox = db.session.scalar(select(Mailbox))
    raw = mail_with_files(ANN, "Ann Lee", "Grinder clicking", "It clicks again.", {})
    taken = hand_in(mailbox, raw.replace(b"Grinder-clicking@", b"again@"))
    db.session.commit()
    assert taken.message.ticket.customer_id not in (ann.customer_id, ann.bob_id)
    assert taken.message.ticket_id != ann.email_ticket_id


def test_nothing_goes_out_to_an_erased_customer(ctx, ann, make_user):
    ticket = db.session.get(Ticket, ann.email_ticket_id)
    queued = service.reply(ticket, make_user(), "Your new burrs are on their way.")
    db.session.commit()
    erase_customer(db.session.get(Customer, ann.customer_id))
    db.session.commit()
    assert service.delivery_block(queued) == ERASED_RECIPIENT
    with pytest.raises(TicketError, match="the customer was erased"):
        service.reply(ticket, make_user(), "Hello again")


def test_erasing_twice_is_refused(ctx, ann):
    customer = db.session.get(Customer, ann.customer_id)
    erase_customer(customer)
    db.session.commit()
    with pytest.raises(Exception, match="erased already"):
        erase_customer(customer)


def test_the_confirmation_takes_the_name_or_erase():
    customer = Customer(name="Ann Lee")
    assert confirms_erasure(customer, "ERASE")
    assert confirms_erasure(customer, "  ann   lee ")
    assert not confirms_erasure(customer, "erase")
    assert not confirms_erasure(customer, "Ann")
    assert not confirms_erasure(Customer(name=None), "")


def test_admins_export_and_erase_from_the_customer_page(client, login, setup, ann):
    login(Role.AGENT)
    page = client.get(f"/customers/{ann.customer_id}").text
    assert "Export data" not in page and "Erase customer" not in page
    assert client.post(f"/admin/customers/{ann.customer_id}/export").status_code == 403
    assert client.get(f"/admin/customers/{ann.customer_id}/erase").status_code == 403
    client.post("/logout")

    login(Role.ADMIN)
    page = client.get(f"/customers/{ann.customer_id}").text
    assert "Export data" in page and "Erase customer" in page
    export = client.post(f"/admin/customers/{ann.customer_id}/export")
    assert export.status_code == 200 and export.mimetype == "application/zip"
    assert f"customer-{ann.customer_id}-export.zip" in export.headers["Content-Disposition"]
    assert "customer.json" in zipfile.ZipFile(io.BytesIO(export.data)).namelist()

    confirm = client.get(f"/admin/customers/{ann.customer_id}/erase")
    assert confirm.status_code == 200
    assert ANN in confirm.text and "4 identities" in confirm.text
    assert "1 quarantined or ignored email" in confirm.text
    wrong = client.post(f"/admin/customers/{ann.customer_id}/erase", data={"confirmation": "Bob"})
    assert wrong.status_code == 400 and "nothing was erased" in wrong.text
    empty = client.post(f"/admin/customers/{ann.customer_id}/erase", data={"confirmation": ""})
    assert empty.status_code == 400 and "Type the customer" in empty.text
    with setup():
        assert db.session.get(Customer, ann.customer_id).erased_at is None

    done = client.post(
        f"/admin/customers/{ann.customer_id}/erase",
        data={"confirmation": "Ann Lee"},
        follow_redirects=True,
    )
    assert "messages blanked: 4" in done.text and "Erased customer" in done.text
    assert "Erase customer</a>" not in done.text
    ticket = client.get(f"/tickets/{ann.email_ticket_id}")
    assert ticket.status_code == 200 and "(erased)" in ticket.text and "burrs" not in ticket.text
    # The composer says no reply can go out and offers notes only.
    assert "No reply can go out:</b> the customer was erased" in ticket.text
    assert 'value="Send reply"' not in ticket.text and 'value="Add internal note"' in ticket.text
    # The same confirmation sent again from a stale page changes nothing.
    stale = client.post(
        f"/admin/customers/{ann.customer_id}/erase",
        data={"confirmation": "ERASE"},
        follow_redirects=True,
    )
    assert "erased already" in stale.text
    with setup():
        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        assert actions.count("customer.erased") == 1 and "customer.exported" in actions


def test_the_api_exports_and_erases_for_admin_tokens_only(
    client, setup, make_user, make_token, ann
):
    with setup():
        agent = make_token(make_user(role=Role.MANAGER))
        admin = make_token(make_user(role=Role.ADMIN))
    as_manager = {"Authorization": f"Bearer {agent}"}
    as_admin = {"Authorization": f"Bearer {admin}"}
    url = f"/api/v1/customers/{ann.customer_id}"
    for refused in (
        client.get(f"{url}/export", headers=as_manager),
        client.post(f"{url}/erase", headers=as_manager),
    ):
        assert refused.status_code == 403 and refused.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/customers/999999/export", headers=as_admin).status_code == 404

    export = client.get(f"{url}/export", headers=as_admin)
    assert export.status_code == 200 and export.mimetype == "application/zip"
    assert f"files/{ann.private_key}" in zipfile.ZipFile(io.BytesIO(export.data)).namelist()

    erased = client.post(f"{url}/erase", headers=as_admin)
    assert erased.status_code == 200
    assert erased.json["customer_id"] == ann.customer_id
    assert erased.json["identities_removed"] == 4 and erased.json["files_removed"] == 3
    again = client.post(f"{url}/erase", headers=as_admin)
    assert again.status_code == 422 and again.json["error"]["code"] == "refused"
    with setup():
        rows = list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.target_type == "customer"))
        )
        assert {row.action for row in rows} >= {"customer.exported", "customer.erased"}
        assert all(row.token_id is not None for row in rows if row.action.startswith("customer."))


def test_a_short_name_blanks_whole_words_only_in_the_audit_trail(ctx, open_ticket):
    ticket_id = open_ticket(sender="al@example.com")
    customer = db.session.get(Ticket, ticket_id).customer
    customer.name = "Al"
    quoting = AuditEvent(action="macro.created", target_type="macro", after={"text": "Al calls"})
    other = AuditEvent(action="macro.created", target_type="macro", after={"text": "Alex calls"})
    db.session.add_all([quoting, other])
    db.session.commit()
    erasure = erase_customer(customer)
    db.session.commit()
    assert quoting.after == {"text": "(erased)"} and other.after == {"text": "Alex calls"}
    assert erasure.audit_events_redacted == 1


def test_erasing_reaches_their_messages_on_the_ticket_theirs_was_merged_into(ctx, ann, make_user):
    from helpdesk.tickets.merging import merge

    bobs = db.session.scalar(select(Ticket).where(Ticket.customer_id == ann.bob_id))
    merge(db.session.get(Ticket, ann.email_ticket_id), bobs, make_user())
    db.session.commit()

    erase_customer(db.session.get(Customer, ann.customer_id))
    db.session.commit()

    texts = [
        m.text for m in db.session.scalars(select(Message).where(Message.ticket_id == bobs.id))
    ]
    assert "Page 3?" in " ".join(texts)  # Bob's own message stays
    assert not any("cleaned the burrs" in text for text in texts)
    assert "" in texts  # Ann's, blanked where it now lives


def test_a_stop_and_an_unsubscribe_outlive_the_erasure(ctx, ann, inbound):
    customer = db.session.get(Customer, ann.customer_id)
    for identity in customer.identities:
        if identity.kind == IdentityKind.PHONE:
            identity.opted_out_at = utcnow()
        if identity.kind == IdentityKind.EMAIL:
            identity.outreach_unsubscribed_at = utcnow()
    db.session.commit()
    erase_customer(customer)
    db.session.commit()
    # Nothing readable is kept: only keyed hashes.
    kept = db.session.scalars(select(Suppression)).all()
    assert len(kept) == 2 and not any(ANN_PHONE in row.value_hash for row in kept)

    texted = service.receive(inbound("sms", sender=ANN_PHONE, text="Hi again")).ticket
    mailed = service.receive(inbound("email", sender=ANN, text="Me again")).ticket
    db.session.commit()

    assert texted.customer_id != ann.customer_id
    [phone] = [i for i in texted.customer.identities if i.kind == IdentityKind.PHONE]
    assert phone.opted_out_at is not None  # still never texted
    [email] = [i for i in mailed.customer.identities if i.kind == IdentityKind.EMAIL]
    assert email.outreach_unsubscribed_at is not None  # still no outreach
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(CustomerIdentity)
            .where(
                CustomerIdentity.value == "bob@example.com",
                CustomerIdentity.opted_out_at.is_not(None),
            )
        )
        == 0
    )


def test_a_batch_of_mail_keeps_the_refusal_of_an_erased_address_and_only_its(ctx, ann, inbound):
    customer = db.session.get(Customer, ann.customer_id)
    for identity in customer.identities:
        if identity.kind == IdentityKind.EMAIL:
            identity.outreach_unsubscribed_at = utcnow()
    db.session.commit()
    erase_customer(customer)
    db.session.commit()
    senders = ["zed@example.com", ANN, "yan@example.com"]
    batch = [inbound("email", sender=sender, text="Hello again") for sender in senders]

    # One batch, as the mailbox fetch takes mail: its new addresses are flushed together.
    with service.intake_batch(batch):
        tickets = [service.receive(msg).ticket for msg in batch]
    db.session.commit()

    refused = {
        identity.value: identity.outreach_unsubscribed_at is not None
        for ticket in tickets
        for identity in ticket.customer.identities
    }
    assert refused == {"zed@example.com": False, ANN: True, "yan@example.com": False}
