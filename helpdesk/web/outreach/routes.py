"""The campaign page: choose a segment and a message, preview who receives it, then send."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import Field

from helpdesk.extensions import db
from helpdesk.models import Campaign, Role, Stage
from helpdesk.tickets import campaigns
from helpdesk.tickets.errors import TicketError
from helpdesk.web.access import roles_required
from helpdesk.web.outreach import bp
from helpdesk.web.outreach.forms import CampaignForm

managers_only = roles_required(Role.MANAGER, Role.ADMIN)


@bp.app_template_global()
def segment_words(segment: dict) -> str:
    """A campaign's recorded segment in words."""
    return campaigns.Segment.from_json(segment).describe()


@bp.route("", methods=["GET", "POST"])
@managers_only
def campaigns_page() -> str | Response | tuple[str, int]:
    """The campaign form, its preview, and the campaigns sent so far."""
    form = CampaignForm().offer()
    preview = None
    if form.validate_on_submit():
        try:
            preview = _preview(form)
            if form.send.data and _unchanged(form, preview):
                campaign = _send(form)
                db.session.commit()
                flash(
                    f"Campaign sent: {campaign.recipients} customer"
                    f"{'s' if campaign.recipients != 1 else ''} will get it, each on a ticket "
                    "of their own.",
                    "success",
                )
                return redirect(url_for("outreach.campaigns_page"))
        except TicketError as refused:
            db.session.rollback()
            _field_at_fault(form, refused).errors.append(str(refused))
        if preview is not None:
            form.previewed.data = _key(form, preview)
    page = render_template(
        "outreach/campaigns.html", form=form, preview=preview, campaigns=campaigns.recent()
    )
    return (page, 400) if form.errors else page


def _preview(form: CampaignForm) -> campaigns.Preview:
    return campaigns.preview(form.chosen_segment(), form.chosen_channel())


def _key(form: CampaignForm, preview: campaigns.Preview) -> str:
    """What the manager saw previewed: the segment, the channel and who it reaches."""
    reached = ",".join(str(customer.id) for customer, _ in preview.recipients)
    return f"{form.chosen_segment().as_json()}|{form.channel.data}|{reached}"


def _unchanged(form: CampaignForm, preview: campaigns.Preview) -> bool:
    """True when the send reaches exactly whom the preview the manager saw showed."""
    if form.previewed.data == _key(form, preview):
        return True
    if not form.previewed.data:
        form.send.errors = ["Preview it first: see who receives it, then send."]
    else:
        form.send.errors = [
            "The segment, channel or its customers changed since the preview: check the new "
            f"preview ({len(preview.recipients)} will receive it), then send."
        ]
    return False


def _send(form: CampaignForm) -> Campaign:
    return campaigns.send(
        form.chosen_segment(),
        form.chosen_channel(),
        form.text.data,
        current_user,
        subject=form.subject.data,
        stage=Stage(form.stage.data),
        endpoint=form.chosen_endpoint(),
    )


def _field_at_fault(form: CampaignForm, refused: TicketError) -> Field:
    reason = str(refused)
    if "choose" in reason or "nobody" in reason:
        return form.segment
    if "tag" in reason:
        return form.tag
    if "day" in reason:
        return form.first_day
    if "subject" in reason:
        return form.subject
    if "send from" in reason:
        return form.sender
    return form.text
