"""Admin pages for outgoing webhooks: thin views over helpdesk.webhooks.endpoints."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from helpdesk.extensions import db
from helpdesk.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.webhook_forms import NewWebhookForm, WebhookEventsForm
from helpdesk.webhooks import endpoints

LOG_LENGTH = 50


@bp.route("/webhooks", methods=["GET", "POST"])
@admin_required
def webhooks() -> str | tuple[str, int]:
    """Every endpoint, and a form to subscribe another (its secret is shown once, here)."""
    form = NewWebhookForm()
    secret = None
    if form.validate_on_submit():
        try:
            endpoint, secret = endpoints.subscribe(
                form.url.data, form.events.data, current_user._get_current_object()
            )
        except endpoints.InvalidSubscription as refused:
            db.session.rollback()
            getattr(form, refused.field).errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Subscribed {endpoint.url}. Copy its signing secret now.", "success")
            form = NewWebhookForm(formdata=None)
    rows = db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)).all()
    page = render_template("admin/webhooks.html", form=form, endpoints=rows, secret=secret)
    return (page, 400) if form.errors else page


@bp.route("/webhooks/<int:webhook_id>", methods=["GET", "POST"])
@admin_required
def webhook(webhook_id: int) -> str | Response | tuple[str, int]:
    """One endpoint: its events, secret, pause, and the log of its latest deliveries."""
    endpoint = _endpoint(webhook_id)
    form = WebhookEventsForm(data={"events": endpoint.events})
    if form.validate_on_submit():
        try:
            endpoints.change(endpoint, events=form.events.data)
        except endpoints.InvalidSubscription as refused:
            db.session.rollback()
            form.events.errors.append(str(refused))
        else:
            db.session.commit()
            flash("Events saved.", "success")
            return redirect(url_for("admin.webhook", webhook_id=endpoint.id))
    page = _endpoint_page(endpoint, form)
    return (page, 400) if form.errors else page


@bp.post("/webhooks/<int:webhook_id>/rotate")
@admin_required
def rotate_webhook_secret(webhook_id: int) -> str:
    """A new secret, shown once; the old one keeps signing beside it for a day."""
    endpoint = _endpoint(webhook_id)
    secret = endpoints.rotate_secret(endpoint)
    db.session.commit()
    flash("New secret made. The old one signs beside it for 24 hours.", "success")
    return _endpoint_page(endpoint, WebhookEventsForm(data={"events": endpoint.events}), secret)


@bp.post("/webhooks/<int:webhook_id>/pause")
@admin_required
def pause_webhook(webhook_id: int) -> Response:
    endpoint = _endpoint(webhook_id)
    if endpoint.paused_at is None:
        endpoints.pause(endpoint, endpoints.PAUSED_BY_ADMIN)
        db.session.commit()
    flash("Paused: events keep queueing and are sent when you resume.", "success")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id))


@bp.post("/webhooks/<int:webhook_id>/resume")
@admin_required
def resume_webhook(webhook_id: int) -> Response:
    endpoint = _endpoint(webhook_id)
    if endpoint.paused_at is not None:
        endpoints.resume(endpoint)
        db.session.commit()
    flash("Resumed: queued events are being sent.", "success")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id))


@bp.post("/webhooks/<int:webhook_id>/delete")
@admin_required
def delete_webhook(webhook_id: int) -> Response:
    endpoint = _endpoint(webhook_id)
    url = endpoint.url
    endpoints.remove(endpoint)
    db.session.commit()
    flash(f"{url} no longer receives events.", "success")
    return redirect(url_for("admin.webhooks"))


@bp.post("/webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/redeliver")
@admin_required
def redeliver_webhook(webhook_id: int, delivery_id: int) -> Response:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != webhook_id:
        abort(404)
    endpoints.redeliver(delivery)
    db.session.commit()
    flash(f"Event {delivery.event_id} will be sent again, with the same id.", "success")
    return redirect(url_for("admin.webhook", webhook_id=webhook_id))


def _endpoint_page(
    endpoint: WebhookEndpoint, form: WebhookEventsForm, secret: str | None = None
) -> str:
    return render_template(
        "admin/webhook.html", endpoint=endpoint, form=form, deliveries=_log(endpoint), secret=secret
    )


def _endpoint(webhook_id: int) -> WebhookEndpoint:
    return db.session.get(WebhookEndpoint, webhook_id) or abort(404)


def _log(endpoint: WebhookEndpoint) -> list[tuple[WebhookDelivery, list[WebhookAttempt]]]:
    """The latest deliveries, newest first, each with its attempts."""
    deliveries = db.session.scalars(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(LOG_LENGTH)
    ).all()
    attempts = endpoints.attempts_of(list(deliveries))
    return [(delivery, attempts[delivery.id]) for delivery in deliveries]
