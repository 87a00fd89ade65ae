"""``helpdesk mailbox`` commands and the worker's IDLE-driven fetching, against Dovecot."""

from __future__ import annotations

import threading
import time

import pytest
from click.testing import CliRunner
from mail_samples import mail
from sqlalchemy import func, select

import helpdesk
from helpdesk.cli import cli
from helpdesk.commands.worker import periodic_jobs, serve
from helpdesk.extensions import db
from helpdesk.mail.watch import listen_for_mail
from helpdesk.models import Mailbox, StageRule, Ticket, WebhookDelivery
from helpdesk.webhooks import endpoints


def add_args(dovecot, folder: str, *extra: str) -> list[str]:
    return [
        "mailbox",
        "add",
        "--address",
        "Support@Shop.test",
        "--imap-host",
        dovecot.host,
        "--imap-port",
        str(dovecot.port),
        "--imap-security",
        "none",
        "--imap-user",
        dovecot.user,
        "--imap-password",
        dovecot.password,
        "--folder",
        folder,
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        "2525",
        "--smtp-security",
        "none",
        *extra,
    ]


def test_add_list_and_fetch(ctx, runner, dovecot, imap_folder):
    added = runner.invoke(
        args=add_args(dovecot, imap_folder, "--stage", "use", "--alias", "sales@shop.test=purchase")
    )
    assert added.exit_code == 0, added.output
    mailbox = db.session.scalar(select(Mailbox))
    assert (mailbox.address, mailbox.endpoint.default_stage) == ("support@shop.test", "use")
    rule = db.session.scalar(select(StageRule))
    assert (rule.recipient, rule.stage) == ("sales@shop.test", "purchase")

    listed = runner.invoke(args=["mailbox", "list"])
    assert "support@shop.test" in listed.output
    assert "last fetch never" in listed.output

    dovecot.append(imap_folder, mail(), mail(to="sales@shop.test"))
    fetched = runner.invoke(args=["mailbox", "fetch"])
    assert fetched.exit_code == 0, fetched.output
    assert "support@shop.test: 2 new (2 stored)" in fetched.output
    assert db.session.scalar(select(func.count(Ticket.id))) == 2

    listed = runner.invoke(args=["mailbox", "list"])
    assert "fetched 2; stored 2" in listed.output
    assert "last error: none" in listed.output


def test_bad_settings_get_a_clear_error(ctx, runner, dovecot, imap_folder):
    duplicate = add_args(dovecot, imap_folder)
    assert runner.invoke(args=duplicate).exit_code == 0
    again = runner.invoke(args=duplicate)
    assert again.exit_code != 0 and "exists already" in again.output
    bad_alias = runner.invoke(args=[*add_args(dovecot, imap_folder), "--alias", "x@y.test"])
    assert bad_alias.exit_code != 0 and "ADDRESS=STAGE" in bad_alias.output


def test_a_server_that_refuses_us_is_reported_and_kept(ctx, runner, dovecot, imap_folder):
    args = add_args(dovecot, imap_folder)
    args[args.index("--imap-password") + 1] = "wrong"
    assert runner.invoke(args=args).exit_code == 0
    fetched = runner.invoke(args=["mailbox", "fetch"])
    assert fetched.exit_code == 1
    assert "error" in fetched.output
    listed = runner.invoke(args=["mailbox", "list"])
    assert "Authentication failed" in listed.output


def test_worker_fetches_new_mail_at_once_through_idle(
    app, ctx, runner, dovecot, imap_folder, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_MAIL_POLL_SECONDS", 600)  # polling alone: too late
    assert runner.invoke(args=add_args(dovecot, imap_folder)).exit_code == 0
    stop, wake = threading.Event(), threading.Event()

    def work() -> None:
        with app.app_context():
            listen_for_mail(wake, stop)
            serve("idle-test", 0.2, stop, periodic_jobs(wake))

    worker = threading.Thread(target=work)
    worker.start()
    try:
        time.sleep(1.0)  # the first poll runs at start; the next only in ten minutes
        dovecot.append(imap_folder, mail())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            db.session.rollback()
            if db.session.scalar(select(func.count(Ticket.id))):
                break
            time.sleep(0.2)
        assert db.session.scalar(select(func.count(Ticket.id))) == 1
    finally:
        stop.set()
        worker.join(timeout=30)


def test_worker_once_fetches_mail_and_sends_replies(ctx, runner, dovecot, imap_folder, smtp_sink):
    args = add_args(dovecot, imap_folder)
    args[args.index("--smtp-port") + 1] = str(smtp_sink.port)
    assert runner.invoke(args=[*args, "--acknowledge"]).exit_code == 0
    dovecot.append(imap_folder, mail())

    assert runner.invoke(args=["worker", "--once"]).exit_code == 0  # fetches, queues the ack
    assert db.session.scalar(select(func.count(Ticket.id))) == 1
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0  # sends it
    [envelope] = smtp_sink.received
    assert envelope.rcpt_tos == ["ada@customer.test"]
    assert b"Auto-Submitted: auto-replied" in envelope.content


@pytest.mark.parametrize(
    ("args", "web"), [(["mailbox", "list"], False), (["stages", "list"], True)]
)
def test_the_console_script_leaves_the_web_layer_out_only_for_the_mailbox_commands(
    app, monkeypatch, args, web
):
    built = []

    def recording_create_app(test_config=None, *, web=True):
        built.append(web)
        return app

    monkeypatch.setattr(helpdesk, "create_app", recording_create_app)

    assert CliRunner().invoke(cli, args).exit_code == 0
    assert built == [web]


def test_mailbox_fetch_without_the_web_layer_threads_and_tells_webhooks_as_ever(
    app, ctx, dovecot, imap_folder, make_mailbox, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)
    make_mailbox()
    endpoints.subscribe("http://127.0.0.1:9/hook", ["ticket.created", "message.created"], None)
    db.session.commit()
    first = "<first@customer.test>"
    dovecot.append(
        imap_folder,
        mail(message_id=first),
        mail(subject="Re: Where is my parcel?", headers={"In-Reply-To": first}),
    )
    env = {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "HELPDESK_STORAGE_DIR": app.config["HELPDESK_STORAGE_DIR"],
    }

    # The console script itself, as cron or an admin runs it: its app has no pages or API.
    fetched = CliRunner().invoke(cli, ["mailbox", "fetch"], env=env)

    assert fetched.exit_code == 0, fetched.output
    assert "support@shop.test: 2 new (2 stored)" in fetched.output
    db.session.rollback()
    [ticket] = db.session.scalars(select(Ticket)).all()
    assert [m.subject for m in ticket.messages] == [
        "Where is my parcel?",
        "Re: Where is my parcel?",
    ]
    events = db.session.scalars(select(WebhookDelivery.event_type).order_by(WebhookDelivery.id))
    assert events.all() == ["ticket.created", "message.created", "message.created"]
