"""Unsubscribing from outreach: a page with one button, and the one-click POST of RFC 8058."""

from __future__ import annotations

from flask import abort, render_template

from helpdesk.extensions import csrf, db
from helpdesk.tickets import outreach
from helpdesk.web.unsubscribe import bp


@bp.get("/<token>")
def confirm(token: str) -> str:
    # Opening the link changes nothing: mail scanners open links; a person presses the button.
    address = outreach.address_of_token(token) or abort(404)
    return render_template(
        "unsubscribe/unsubscribe.html", address=address, done=outreach.unsubscribed(address)
    )


# Mail clients post here without our CSRF token (List-Unsubscribe-Post); the signed token is the
# key, and the worst a forged post could do is stop outreach mail to that one address.
@csrf.exempt
@bp.post("/<token>")
def unsubscribe(token: str) -> str:
    address = outreach.address_of_token(token) or abort(404)
    outreach.unsubscribe(address)
    db.session.commit()
    return render_template("unsubscribe/unsubscribe.html", address=address, done=True)
