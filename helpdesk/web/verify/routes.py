"""Opening a verification link proves the address it was mailed to."""

from __future__ import annotations

from flask import render_template

from helpdesk.extensions import db
from helpdesk.tickets import identity_claims, service
from helpdesk.web.verify import bp


@bp.get("/<token>")
def confirm(token: str) -> str | tuple[str, int]:
    # Opening is the proof (the link reached the address's mailbox); a second opening finds
    # the address proven and changes nothing.
    try:
        opened = identity_claims.open_link(token)
    except identity_claims.LinkRefused as refused:
        return render_template("verify/verify.html", refused=str(refused)), 400
    if opened.claim is not None:
        service.confirm_identity(opened.claim, opened.ticket, "by the emailed link")
        db.session.commit()
    return render_template("verify/verify.html", address=opened.address, ticket=opened.ticket)
