"""Admins connect mailboxes and SMS numbers and look at quarantined mail in the browser."""

from __future__ import annotations

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox, imap_settings, list_mailboxes
from helpdesk.models import InboundEmail, IntakeOutcome, Role, StageRule
from helpdesk.storage import blob_store
from helpdesk.tickets import sms

MAILBOX = {
    "address": "Help@Shop.test",
    "imap_host": "127.0.0.1",
    "imap_port": "1143",
    "imap_security": "none",
    "imap_user": "help",
    "imap_password": "secret pw",
    "folder": "INBOX",
    "smtp_host": "127.0.0.1",
    "smtp_port": "1025",
    "smtp_security": "none",
    "stage": "use",
    "aliases": "sales@shop.test=purchase",
}


def test_an_admin_adds_lists_and_removes_a_mailbox(client, login, app):
    login(Role.ADMIN)
    done = client.post("/admin/channels/mailboxes", data=MAILBOX)
    assert done.status_code == 302, done.text
    page = client.get("/admin/channels").text
    assert "help@shop.test" in page and "never" in page
    with app.app_context():
        [mailbox] = list_mailboxes()
        assert (mailbox.imap_port, mailbox.endpoint.default_stage) == (1143, "use")
        assert db.session.scalar(select(StageRule).where(StageRule.recipient == "sales@shop.test"))
        mailbox_id = mailbox.id
    client.post(f"/admin/channels/mailboxes/{mailbox_id}/remove")
    with app.app_context():
        assert list_mailboxes() == []


def test_an_admin_edits_a_mailbox_and_an_empty_password_keeps_the_stored_one(client, login, app):
    login(Role.ADMIN)
    client.post("/admin/channels/mailboxes", data=MAILBOX)
    with app.app_context():
        [mailbox] = list_mailboxes()
        mailbox_id, stored_password = mailbox.id, mailbox.imap_password_encrypted
    form = client.get(f"/admin/channels/mailboxes/{mailbox_id}")
    assert 'value="1143"' in form.text and "secret pw" not in form.text
    assert stored_password not in form.text

    edited = {**MAILBOX, "imap_port": "1993", "imap_password": "", "stage": "purchase"}
    del edited["address"], edited["aliases"]  # the address is not editable; enabled unticked
    done = client.post(f"/admin/channels/mailboxes/{mailbox_id}", data=edited)

    assert done.status_code == 302, done.text
    assert "paused" in client.get("/admin/channels").text
    with app.app_context():
        [mailbox] = list_mailboxes()
        assert (mailbox.imap_port, mailbox.endpoint.default_stage) == (1993, "purchase")
        assert not mailbox.enabled
        assert mailbox.imap_password_encrypted == stored_password
        assert imap_settings(mailbox).password == "secret pw"


def test_a_wrong_mailbox_edit_is_refused_next_to_its_field(client, login, app):
    login(Role.ADMIN)
    client.post("/admin/channels/mailboxes", data=MAILBOX)
    with app.app_context():
        [mailbox] = list_mailboxes()
    page = client.post(
        f"/admin/channels/mailboxes/{mailbox.id}", data={**MAILBOX, "imap_port": "70000"}
    )
    assert page.status_code == 400
    assert 'id="imap_port-error">A port is a number from 1 to 65535.' in page.text
    assert client.get("/admin/channels/mailboxes/999999").status_code == 404


def test_mailbox_form_errors_sit_next_to_their_fields(client, login):
    login(Role.ADMIN)
    page = client.post(
        "/admin/channels/mailboxes", data={**MAILBOX, "aliases": "sales@shop.test", "imap_host": ""}
    )
    assert page.status_code == 400
    assert 'id="aliases-error">write one ADDRESS=STAGE per line' in page.text
    assert 'id="imap_host-error">This field is required.' in page.text
    client.post("/admin/channels/mailboxes", data=MAILBOX)
    again = client.post("/admin/channels/mailboxes", data=MAILBOX)
    assert 'id="address-error">a mailbox for help@shop.test exists already' in again.text


def test_an_admin_adds_and_removes_an_sms_number_with_keywords(client, login, app):
    login(Role.ADMIN)
    done = client.post(
        "/admin/channels/sms",
        data={"number": "+1 555 000 1111", "stage": "use", "keywords": "ORDER=purchase"},
    )
    assert done.status_code == 302, done.text
    assert "ORDER → Purchase" in client.get("/admin/channels").text
    refused = client.post("/admin/channels/sms", data={"number": "not a number"})
    assert refused.status_code == 400 and 'id="number-error">' in refused.text
    client.post("/admin/channels/sms/remove", data={"address": "+15550001111"})
    with app.app_context():
        assert [n.address for n in sms.list_numbers() if n.registered] == []


def test_admins_see_quarantined_mail_and_its_original(client, login, app):
    login(Role.ADMIN)
    with app.app_context():
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        raw = b"Subject: no sender at all\r\n\r\nwho wrote this?\r\n"
        held = InboundEmail(
            mailbox=mailbox,
            uidvalidity=7,
            uid=3,
            dedupe_key="d" * 64,
            raw_ref=blob_store().put(raw),
            size=len(raw),
            outcome=IntakeOutcome.QUARANTINED,
            reason="no sender address in From, Reply-To or Sender",
        )
        db.session.add(held)
        db.session.commit()
        held_id = held.id
    page = client.get("/admin/quarantine").text
    assert "no sender address in From" in page
    original = client.get(f"/admin/quarantine/{held_id}/original")
    assert original.data == raw and original.mimetype == "message/rfc822"
