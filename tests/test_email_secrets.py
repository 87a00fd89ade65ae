"""Mailbox passwords are stored encrypted with the app's key; a changed key is a clear error on
the mailbox, never a crash; keys rotate; migration 0008 encrypts what was stored in plain."""

from __future__ import annotations

import threading

import pytest
from cryptography.fernet import Fernet
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from helpdesk import create_app, credentials
from helpdesk.extensions import db
from helpdesk.mail.intake import fetch_all
from helpdesk.mail.mailboxes import (
    MailboxSettings,
    add_mailbox,
    imap_settings,
    mailbox_for,
    smtp_settings_for,
    update_mailbox,
)
from helpdesk.mail.watch import listen_for_mail
from helpdesk.models import DeliveryState, Role, utcnow
from helpdesk.outbox import run_due
from helpdesk.tickets import service

IMAP_PASSWORD = "imap pässword 1"
SMTP_PASSWORD = "smtp password 2"
UNREADABLE = (
    "cannot decrypt the {} password: was SECRET_KEY or HELPDESK_SECRETS_KEY changed? "
    "Enter the password again"
)


def add(address: str = "support@shop.test") -> None:
    """A mailbox on servers nobody listens on: these tests never get as far as sending."""
    add_mailbox(
        MailboxSettings(
            address=address,
            imap_host="127.0.0.1",
            imap_port=1,
            imap_security="none",
            imap_user="support",
            imap_password=IMAP_PASSWORD,
            smtp_host="127.0.0.1",
            smtp_port=1,
            smtp_user="support",
            smtp_password=SMTP_PASSWORD,
        )
    )
    db.session.commit()


def stored_passwords(address: str = "support@shop.test") -> tuple[str, str]:
    """The password columns as the database holds them."""
    mailbox = mailbox_for(address)
    db.session.refresh(mailbox)
    return mailbox.imap_password_encrypted, mailbox.smtp_password_encrypted


def test_the_database_holds_ciphertext_and_the_mail_clients_get_the_passwords(ctx):
    add()

    for stored, password in zip(stored_passwords(), (IMAP_PASSWORD, SMTP_PASSWORD), strict=True):
        assert password not in stored
        assert credentials.decrypt(stored) == password
    assert imap_settings(mailbox_for("support@shop.test")).password == IMAP_PASSWORD
    assert smtp_settings_for("support@shop.test").password == SMTP_PASSWORD


def test_an_empty_password_on_update_keeps_the_stored_one(ctx):
    add()
    mailbox = mailbox_for("support@shop.test")
    update_mailbox(mailbox, imap_password="", folder="Support")
    assert imap_settings(mailbox).password == IMAP_PASSWORD

    update_mailbox(mailbox, imap_password="new one")
    assert imap_settings(mailbox).password == "new one"


def test_no_password_is_shown_by_the_admin_page_or_the_cli(client, login, ctx, runner):
    add()
    login(Role.ADMIN)
    stored = stored_passwords()
    for shown in (
        client.get("/admin/channels").text,
        runner.invoke(args=["mailbox", "list"]).output,
    ):
        assert "support@shop.test" in shown
        for secret in (IMAP_PASSWORD, SMTP_PASSWORD, *stored):
            assert secret not in shown


def test_a_changed_key_is_a_clear_error_on_the_mailbox_and_the_others_go_on(app, ctx, monkeypatch):
    add()
    monkeypatch.setitem(app.config, "SECRET_KEY", "another install's key")
    add("sales@shop.test")  # readable under the new key: it is fetched (and cannot connect)

    reports = {report.address: report.error for report in fetch_all("w1")}

    expected = UNREADABLE.format("IMAP")
    assert reports["support@shop.test"] == mailbox_for("support@shop.test").last_error == expected
    assert "Connection refused" in mailbox_for("sales@shop.test").last_error
    stop = threading.Event()
    stop.set()  # listeners end at once; which ones start is what matters
    listeners = listen_for_mail(threading.Event(), stop)
    assert [thread.name for thread in listeners] == ["idle sales@shop.test"]


def test_a_changed_key_keeps_replies_queued_with_the_reason(
    app, ctx, monkeypatch, inbound, make_user
):
    add()
    ticket = service.receive(inbound(endpoint="support@shop.test")).ticket
    reply = service.reply(ticket, make_user(), "It left today.")
    db.session.commit()
    monkeypatch.setitem(app.config, "SECRET_KEY", "another install's key")

    assert run_due("w1").retrying == 1
    assert reply.delivery_state == DeliveryState.QUEUED
    assert (reply.error_code, reply.error_text) == ("smtp-password", UNREADABLE.format("SMTP"))


def test_the_password_command_stores_a_password_again(ctx, runner):
    add()
    done = runner.invoke(
        args=["mailbox", "password", "support@shop.test", "--smtp"], input="fresh\nfresh\n"
    )
    assert done.exit_code == 0, done.output
    assert smtp_settings_for("support@shop.test").password == "fresh"
    assert "fresh" not in stored_passwords()[1]


def test_rotation_re_encrypts_with_the_first_key_and_the_old_key_can_go(
    app, ctx, runner, monkeypatch
):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (old,))
    add()
    before = stored_passwords()

    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (new, old))
    assert smtp_settings_for("support@shop.test").password == SMTP_PASSWORD  # old still opens
    done = runner.invoke(args=["mailbox", "rotate-secrets"])
    assert done.exit_code == 0, done.output
    assert "1 of 1 mailboxes" in done.output
    after = stored_passwords()
    assert all(token != earlier for token, earlier in zip(after, before, strict=True))

    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (new,))
    assert imap_settings(mailbox_for("support@shop.test")).password == IMAP_PASSWORD
    assert smtp_settings_for("support@shop.test").password == SMTP_PASSWORD


def test_rotation_names_the_mailboxes_no_key_opens(app, ctx, runner, monkeypatch):
    add()
    monkeypatch.setitem(app.config, "HELPDESK_SECRETS_KEY", (Fernet.generate_key().decode(),))
    done = runner.invoke(args=["mailbox", "rotate-secrets"])
    assert done.exit_code == 1
    assert "support@shop.test: no configured key decrypts its passwords" in done.output


def test_a_secrets_key_that_is_not_a_fernet_key_stops_the_start(monkeypatch):
    monkeypatch.setenv("HELPDESK_SECRETS_KEY", f"{Fernet.generate_key().decode()},not-a-key")
    with pytest.raises(ValueError, match="HELPDESK_SECRETS_KEY: key 2 is not a Fernet key"):
        create_app({"TESTING": True})


def test_migration_0008_encrypts_stored_passwords_and_its_downgrade_decrypts_them(
    unmigrated_app,
):
    with unmigrated_app.app_context():
        upgrade(revision="0007_chat")
        _store_plain_mailbox()
        upgrade(revision="0008_mail_secrets")
        imap, smtp = db.session.execute(
            text("SELECT imap_password_encrypted, smtp_password_encrypted FROM mailboxes")
        ).one()
        assert IMAP_PASSWORD not in imap
        assert (credentials.decrypt(imap), smtp) == (IMAP_PASSWORD, None)
        db.session.remove()

        downgrade(revision="0007_chat")
        plain = db.session.scalar(text("SELECT imap_password FROM mailboxes"))
        assert plain == IMAP_PASSWORD
        db.session.remove()
        db.engine.dispose()


def _store_plain_mailbox() -> None:
    """A mailbox as revision 0007 stored it, password in plain text."""
    now = utcnow()
    endpoint_id = db.session.scalar(
        text(
            "INSERT INTO endpoints (channel, address, settings, created_at) "
            "VALUES ('email', 'support@shop.test', '{}', :now) RETURNING id"
        ),
        {"now": now},
    )
    db.session.execute(
        text(
            "INSERT INTO mailboxes (endpoint_id, enabled, imap_host, imap_port, imap_security, "
            "imap_user, imap_password, folder, smtp_security, acknowledge, last_uid, "
            "fetched_count, quarantined_count, created_at) VALUES (:endpoint, true, "
            "'127.0.0.1', 993, 'tls', 'support', :password, 'INBOX', 'none', false, 0, 0, 0, :now)"
        ),
        {"endpoint": endpoint_id, "password": IMAP_PASSWORD, "now": now},
    )
    db.session.commit()
