"""Admin pages for the channels: mailboxes, SMS numbers, chat sites, and quarantined mail."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from helpdesk.chat import sites as chat_sites
from helpdesk.extensions import db
from helpdesk.mail import mailboxes
from helpdesk.models import InboundEmail, Mailbox, Stage
from helpdesk.storage import blob_store
from helpdesk.tickets import sms
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.channel_forms import (
    EditMailboxForm,
    MailboxForm,
    NewChatSiteForm,
    SmsNumberForm,
    stage_pairs,
)
from helpdesk.web.downloads import content_disposition


@bp.get("/channels")
@admin_required
def channels() -> str:
    return _page(MailboxForm(formdata=None), SmsNumberForm(formdata=None))


@bp.post("/channels/mailboxes")
@admin_required
def add_mailbox() -> str | Response:
    form = MailboxForm()
    if form.validate_on_submit():
        settings = mailboxes.MailboxSettings(address=form.address.data, **_settings_in(form))
        try:
            mailbox = mailboxes.add_mailbox(settings)
        except TicketError as refused:
            db.session.rollback()
            form.address.errors.append(str(refused))
        else:
            db.session.commit()
            flash(
                f"Mailbox {mailbox.endpoint.address} added; the worker reads it from now on.",
                "success",
            )
            return redirect(url_for("admin.channels"))
    return _page(form, SmsNumberForm(formdata=None)), 400


@bp.route("/channels/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@admin_required
def edit_mailbox(mailbox_id: int) -> str | tuple[str, int] | Response:
    mailbox = db.session.get(Mailbox, mailbox_id) or abort(404)
    if request.method == "GET":
        form = EditMailboxForm(obj=mailboxes.settings_of(mailbox), formdata=None)
        form.aliases.data = ""  # the field adds aliases; the present ones are stage rules
        return render_template("admin/edit_mailbox.html", form=form, mailbox=mailbox)
    form = EditMailboxForm()
    if form.validate_on_submit():
        try:
            mailboxes.update_mailbox(mailbox, enabled=form.enabled.data, **_settings_in(form))
        except TicketError as refused:
            db.session.rollback()
            form.imap_host.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Mailbox {mailbox.endpoint.address} saved.", "success")
            return redirect(url_for("admin.channels"))
    return render_template("admin/edit_mailbox.html", form=form, mailbox=mailbox), 400


def _settings_in(form: MailboxForm) -> dict[str, object]:
    """The mailbox settings a form holds, but the address (which only the add form has)."""
    return {
        "imap_host": form.imap_host.data,
        "imap_user": form.imap_user.data,
        "imap_password": form.imap_password.data or "",
        "imap_port": form.imap_port.data or 993,
        "imap_security": form.imap_security.data,
        "folder": form.folder.data,
        "processed_folder": form.processed_folder.data or None,
        "smtp_host": form.smtp_host.data or None,
        "smtp_port": form.smtp_port.data,
        "smtp_security": form.smtp_security.data,
        "smtp_user": form.smtp_user.data or None,
        "smtp_password": form.smtp_password.data or None,
        "stage": form.stage.data or None,
        "aliases": tuple(stage_pairs(form.aliases.data, "ADDRESS").items()),
        "acknowledge": form.acknowledge.data,
    }


@bp.post("/channels/mailboxes/<int:mailbox_id>/remove")
@admin_required
def remove_mailbox(mailbox_id: int) -> Response:
    mailbox = db.session.get(Mailbox, mailbox_id) or abort(404)
    address = mailbox.endpoint.address
    mailboxes.remove_mailbox(mailbox)
    db.session.commit()
    flash(f"Mailbox {address} removed; its tickets stay.", "success")
    return redirect(url_for("admin.channels"))


@bp.post("/channels/sms")
@admin_required
def add_number() -> str | Response:
    form = SmsNumberForm()
    if form.validate_on_submit():
        try:
            endpoint = sms.add_number(
                number=form.number.data or None,
                messaging_service=form.messaging_service.data or None,
                stage=form.stage.data or None,
                keywords=stage_pairs(form.keywords.data, "WORD"),
                name=form.name.data or None,
            )
        except TicketError as refused:
            db.session.rollback()
            form.number.errors.append(str(refused))
        else:
            db.session.commit()
            flash(
                f"{endpoint.address} added; point its webhook at /webhooks/twilio/sms.", "success"
            )
            return redirect(url_for("admin.channels"))
    return _page(MailboxForm(formdata=None), form), 400


@bp.post("/channels/sms/remove")
@admin_required
def remove_number() -> Response:
    address = request.form.get("address", "")
    try:
        sms.remove_number(address)
    except TicketError as refused:
        flash(str(refused), "error")
    else:
        db.session.commit()
        flash(f"{address} removed; its keyword rules went, its tickets stay.", "success")
    return redirect(url_for("admin.channels"))


def _url_rules(form: NewChatSiteForm) -> list[tuple[str, Stage]] | None:
    """The form's URL rules; None, with the reason next to the field, when one is malformed."""
    try:
        return [
            chat_sites.parse_pair(line, "a URL rule")
            for line in (form.url_rules.data or "").splitlines()
            if line.strip()
        ]
    except TicketError as refused:
        form.url_rules.errors.append(str(refused))
        return None


@bp.route("/chat-sites", methods=["GET", "POST"])
@admin_required
def chat_sites_page() -> str | tuple[str, int]:
    form = NewChatSiteForm()
    added = None
    url_rules = _url_rules(form) if form.validate_on_submit() else None
    if url_rules is not None:
        try:
            added = chat_sites.add_site(
                form.name.data,
                form.origins.data.split(),
                stage=Stage(form.stage.data) if form.stage.data else None,
                mailbox=form.mailbox.data or None,
                url_rules=url_rules,
            )
        except TicketError as refused:
            db.session.rollback()
            form.origins.errors.append(str(refused))
        else:
            db.session.commit()
            form = NewChatSiteForm(formdata=None)
    status = 400 if form.errors else 200
    public_url = current_app.config["HELPDESK_PUBLIC_URL"]
    return render_template(
        "admin/chat_sites.html",
        form=form,
        added=added,
        sites=chat_sites.all_sites(),
        snippet=lambda site: chat_sites.embed_snippet(site, public_url),
        signed_snippet=lambda site: chat_sites.logged_in_snippet(site, public_url),
    ), status


@bp.get("/quarantine")
@admin_required
def quarantine() -> str:
    return render_template("admin/quarantine.html", emails=mailboxes.quarantined())


@bp.get("/quarantine/<int:email_id>/original")
@admin_required
def quarantined_original(email_id: int) -> Response:
    email = db.session.get(InboundEmail, email_id) or abort(404)
    try:
        raw = blob_store().get(email.raw_ref)
    except KeyError:
        abort(404)
    response = Response(raw, mimetype="message/rfc822")
    response.headers["Content-Disposition"] = content_disposition(f"quarantined-{email.id}.eml")
    return response


def _page(mail_form: MailboxForm, sms_form: SmsNumberForm) -> str:
    listed = mailboxes.list_mailboxes()
    return render_template(
        "admin/channels.html",
        mailboxes=[(mailbox, mailboxes.outcome_counts(mailbox)) for mailbox in listed],
        numbers=sms.list_numbers(),
        mail_form=mail_form,
        sms_form=sms_form,
    )
