"""``POST /webhooks/twilio/sms`` and ``/webhooks/twilio/status``: signed by Twilio, or 403.

Nothing here calls Twilio: the answer is empty TwiML, and replies go out through the worker.
An inbound text is verified and stored in the inbox (helpdesk/inbox.py), nothing more, so
the answer is quick however busy the ticket tables are.
"""

from __future__ import annotations

from flask import Response, current_app, request

from channels import sms
from channels.base import Channel
from helpdesk import inbox_writer
from helpdesk.extensions import db
from helpdesk.tickets import sms as sms_service
from helpdesk.web.webhooks import bp


@bp.post("/twilio/sms")
def twilio_sms() -> Response:
    if not _signed_by_twilio():
        return _plain("invalid or missing X-Twilio-Signature", 403)
    try:
        msg = sms.parse(request.form)
    except sms.InvalidForm as error:
        return _plain(str(error), 400)
    # Stored as received (a retry is a no-op); the worker makes it a message moments later.
    # The process's inbox writer stores it with the other texts arriving meanwhile, in one
    # commit: this answer waits for that commit and nothing else (helpdesk/inbox_writer.py).
    try:
        inbox_writer.store(Channel.SMS, msg.external_id, request.form.to_dict(), sender=msg.sender)
    except inbox_writer.NotStored:
        return _plain("the text could not be stored now; send it again", 503)
    return Response(sms.EMPTY_TWIML, mimetype="text/xml")


@bp.post("/twilio/status")
def twilio_status() -> Response:
    if not _signed_by_twilio():
        return _plain("invalid or missing X-Twilio-Signature", 403)
    try:
        update = sms.parse_status(request.form)
    except sms.InvalidForm as error:
        return _plain(str(error), 400)
    sms_service.apply_status(update, request.args.get("message"))
    db.session.commit()
    return Response(status=204)


def _signed_by_twilio() -> bool:
    # Twilio signs the URL it called; behind a proxy that is the public URL, not request.url.
    url = current_app.config["HELPDESK_PUBLIC_URL"].rstrip("/") + request.path
    if request.query_string:
        url += "?" + request.query_string.decode()
    return sms.is_authentic(
        current_app.config["TWILIO_AUTH_TOKEN"],
        url,
        request.form,
        request.headers.get("X-Twilio-Signature"),
    )


def _plain(text: str, status: int) -> Response:
    return Response(text + "\n", status=status, mimetype="text/plain")
