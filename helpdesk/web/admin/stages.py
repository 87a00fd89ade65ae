"""Admin pages for the stage rules: thin views over helpdesk.tickets.stage_rules."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from channels.base import InboundMessage
from helpdesk.extensions import db
from helpdesk.models import Endpoint, StageRule
from helpdesk.stage_model.standing import standing
from helpdesk.tickets import stage_rules
from helpdesk.tickets.errors import TicketError
from helpdesk.tickets.stages import ordered_rules
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.forms import (
    EndpointStageForm,
    NewStageRuleForm,
    StageRuleForm,
    TrySampleForm,
)

MOVES = {"up": -1, "down": 1}


@bp.get("/stages")
@admin_required
def stage_rules_page() -> tuple[str, int]:
    sample = TrySampleForm(request.args)
    trial, status = None, 200
    # The box was submitted when the query string carries a sample; a bare visit shows it empty.
    if "endpoint" in request.args:
        if sample.validate():
            try:
                trial = stage_rules.try_sample(_sample_message(sample))
            except TicketError as refused:
                sample.endpoint.errors.append(str(refused))
        status = 200 if trial else 400
    else:
        sample = TrySampleForm(formdata=None)
    return render_template(
        "admin/stage_rules.html",
        rules=ordered_rules(),
        usage=stage_rules.rule_usage(),
        sample=sample,
        trial=trial,
        endpoints=stage_rules.endpoints(),
        condition_labels=stage_rules.CONDITION_LABELS,
        stage_model=standing(),
    ), status


def _sample_message(sample: TrySampleForm) -> InboundMessage:
    return stage_rules.sample_message(
        sample.channel.data,
        sample.endpoint.data,
        recipient=sample.recipient.data,
        subject=sample.subject.data,
        text=sample.text.data,
        page_url=sample.url.data,
        utm_source=sample.utm_source.data,
        utm_medium=sample.utm_medium.data,
        utm_campaign=sample.utm_campaign.data,
    )


@bp.route("/stages/new", methods=["GET", "POST"])
@admin_required
def new_stage_rule() -> str | Response | tuple[str, int]:
    form = NewStageRuleForm()
    if form.validate_on_submit():
        try:
            rule = stage_rules.add_rule(form.name.data, form.stage.data, form.conditions())
        except TicketError as refused:
            db.session.rollback()
            form.name.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Rule “{rule.name}” added; it is tried last.", "success")
            return redirect(url_for("admin.stage_rules_page"))
    status = 400 if form.errors else 200
    return render_template("admin/stage_rule.html", form=form, rule=None), status


@bp.route("/stages/<int:rule_id>", methods=["GET", "POST"])
@admin_required
def edit_stage_rule(rule_id: int) -> str | Response | tuple[str, int]:
    rule = db.session.get(StageRule, rule_id) or abort(404)
    form = StageRuleForm(obj=rule)
    if form.validate_on_submit():
        try:
            stage_rules.update_rule(rule, form.stage.data, form.conditions())
        except TicketError as refused:
            db.session.rollback()
            form.stage.errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Rule “{rule.name}” saved.", "success")
            return redirect(url_for("admin.stage_rules_page"))
    status = 400 if form.errors else 200
    return render_template("admin/stage_rule.html", form=form, rule=rule), status


@bp.post("/stages/<int:rule_id>/move")
@admin_required
def move_stage_rule(rule_id: int) -> Response:
    rule = db.session.get(StageRule, rule_id) or abort(404)
    offset = MOVES.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    stage_rules.move_rule(rule, offset)
    db.session.commit()
    return redirect(url_for("admin.stage_rules_page", _anchor=f"rule-{rule.id}"))


@bp.post("/stages/<int:rule_id>/enabled")
@admin_required
def enable_stage_rule(rule_id: int) -> Response:
    rule = db.session.get(StageRule, rule_id) or abort(404)
    enabled = request.form.get("enabled") == "1"
    stage_rules.set_enabled(rule, enabled)
    db.session.commit()
    state = "on: it is tried again" if enabled else "off: it is skipped, its history stays"
    flash(f"Rule “{rule.name}” is {state}.", "success")
    return redirect(url_for("admin.stage_rules_page", _anchor=f"rule-{rule.id}"))


@bp.post("/endpoints/<int:endpoint_id>/stage")
@admin_required
def set_endpoint_stage(endpoint_id: int) -> Response:
    endpoint = db.session.get(Endpoint, endpoint_id) or abort(404)
    form = EndpointStageForm()
    if not form.validate_on_submit():
        abort(400)
    stage_rules.set_endpoint_default(endpoint, form.stage.data)
    db.session.commit()
    flash(f"{endpoint.label} now defaults to {form.stage.data}.", "success")
    return redirect(url_for("admin.stage_rules_page", _anchor="endpoints"))
