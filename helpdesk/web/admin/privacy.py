"""Admin pages to export a customer's data and to erase a customer."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from helpdesk import privacy
from helpdesk.extensions import db
from helpdesk.models import Customer
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.privacy_forms import EraseCustomerForm
from helpdesk.web.downloads import content_disposition


@bp.post("/customers/<int:customer_id>/export")
@admin_required
def export_customer(customer_id: int) -> Response:
    customer = _customer(customer_id)
    archive = privacy.export_customer(customer)
    db.session.commit()
    return zip_response(archive, customer)


@bp.route("/customers/<int:customer_id>/erase", methods=["GET", "POST"])
@admin_required
def erase_customer(customer_id: int) -> str | tuple[str, int] | Response:
    customer = _customer(customer_id)
    if customer.erased_at is not None:
        return _erased_already(customer)
    form = EraseCustomerForm()
    if not form.validate_on_submit():
        return _confirmation(customer, form), 400 if form.is_submitted() else 200
    if not privacy.confirms_erasure(customer, form.confirmation.data):
        form.confirmation.errors.append(
            "That is neither the customer's name nor ERASE; nothing was erased."
        )
        return _confirmation(customer, form), 400
    try:
        erasure = privacy.erase_customer(customer)
    except privacy.AlreadyErased:  # another admin, a moment ago
        db.session.rollback()
        return _erased_already(customer)
    db.session.commit()
    flash(
        f"Customer {customer.id} erased (messages blanked: {erasure.messages_blanked}, files "
        f"removed: {erasure.files_removed}, identities removed: {erasure.identities_removed}); "
        "their tickets stay as anonymous rows in the reports.",
        "success",
    )
    return redirect(url_for("agent.customer", customer_id=customer.id))


def zip_response(archive: bytes, customer: Customer) -> Response:
    """The export as a download named after the customer's id (never their name)."""
    response = Response(archive, mimetype="application/zip")
    response.headers["Content-Disposition"] = content_disposition(
        f"customer-{customer.id}-export.zip"
    )
    return response


def _erased_already(customer: Customer) -> Response:
    flash("This customer was erased already.", "info")
    return redirect(url_for("agent.customer", customer_id=customer.id))


def _customer(customer_id: int) -> Customer:
    return db.session.get(Customer, customer_id) or abort(404)


def _confirmation(customer: Customer, form: EraseCustomerForm) -> str:
    return render_template(
        "admin/erase_customer.html",
        customer=customer,
        held=privacy.holdings_of(customer),
        form=form,
    )
