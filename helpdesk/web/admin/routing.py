"""Admin pages for the routing rules: thin views over helpdesk.tickets.routing_rules."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import RoutingRule, Team, utcnow
from helpdesk.tickets import routing_rules, stage_rules
from helpdesk.tickets.routing import ordered_rules
from helpdesk.tickets.routing_rules import InvalidRule
from helpdesk.web.access import admin_required
from helpdesk.web.admin import bp
from helpdesk.web.admin.forms import NewRoutingRuleForm, RoutingRuleForm, TryRoutingForm

MOVES = {"up": -1, "down": 1}
# The try box names a sample's tags "tags"; the service's refusal says "tag".
_SAMPLE_FIELDS = {"tag": "tags"}


@bp.get("/routing")
@admin_required
def routing_rules_page() -> tuple[str, int]:
    sample = TryRoutingForm(request.args)
    trial, status = None, 200
    # The box was submitted when the query string carries a sample; a bare visit shows it empty.
    if "channel" in request.args:
        if sample.validate():
            trial = _try(sample)
        status = 200 if trial else 400
    else:
        sample = TryRoutingForm(formdata=None)
    return render_template(
        "admin/routing_rules.html",
        rules=ordered_rules(),
        usage=routing_rules.rule_usage(utcnow()),
        recent_days=routing_rules.RECENT_DAYS,
        sample=sample,
        trial=trial,
        condition_labels=routing_rules.CONDITION_LABELS,
        endpoints=stage_rules.endpoints(),
    ), status


def _try(sample: TryRoutingForm) -> routing_rules.Trial | None:
    try:
        facts = routing_rules.sample_facts(
            sample.channel.data,
            sample.endpoint.data,
            stage=sample.stage.data,
            intake_stage=sample.intake_stage.data,
            tags=sample.tags.data,
            priority=sample.priority.data,
            subject=sample.subject.data,
        )
    except InvalidRule as refused:
        sample[_SAMPLE_FIELDS.get(refused.field, refused.field)].errors.append(str(refused))
        return None
    return routing_rules.try_sample(facts)


@bp.route("/routing/new", methods=["GET", "POST"])
@admin_required
def new_routing_rule() -> str | Response | tuple[str, int]:
    form = NewRoutingRuleForm()
    form.offer_teams(teams.all_teams())
    if form.validate_on_submit():
        try:
            rule = routing_rules.add_rule(
                form.name.data,
                form.conditions(),
                team=_team(form),
                priority=form.gives_priority.data,
            )
        except InvalidRule as refused:
            db.session.rollback()
            form[refused.field].errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Routing rule “{rule.name}” added; it is tried last.", "success")
            return redirect(url_for("admin.routing_rules_page"))
    return _rule_page(form, None)


@bp.route("/routing/<int:routing_rule_id>", methods=["GET", "POST"])
@admin_required
def edit_routing_rule(routing_rule_id: int) -> str | Response | tuple[str, int]:
    rule = db.session.get(RoutingRule, routing_rule_id) or abort(404)
    form = RoutingRuleForm()
    form.offer_teams(teams.all_teams())
    if request.method == "GET":
        form.show(rule)
    elif form.validate_on_submit():
        try:
            routing_rules.update_rule(
                rule, form.conditions(), team=_team(form), priority=form.gives_priority.data
            )
        except InvalidRule as refused:
            db.session.rollback()
            form[refused.field].errors.append(str(refused))
        else:
            db.session.commit()
            flash(f"Routing rule “{rule.name}” saved.", "success")
            return redirect(url_for("admin.routing_rules_page", _anchor=f"rule-{rule.id}"))
    return _rule_page(form, rule)


def _team(form: RoutingRuleForm) -> Team | None:
    # The select only offers existing teams: wtforms has refused anything else already.
    return db.session.get(Team, int(form.team.data)) if form.team.data else None


def _rule_page(form: RoutingRuleForm, rule: RoutingRule | None) -> tuple[str, int]:
    page = render_template(
        "admin/routing_rule.html", form=form, rule=rule, endpoints=stage_rules.endpoints()
    )
    return page, 400 if form.errors else 200


@bp.post("/routing/<int:routing_rule_id>/move")
@admin_required
def move_routing_rule(routing_rule_id: int) -> Response:
    rule = db.session.get(RoutingRule, routing_rule_id) or abort(404)
    offset = MOVES.get(request.form.get("direction", ""))
    if offset is None:
        abort(400)
    routing_rules.move_rule(rule, offset)
    db.session.commit()
    return redirect(url_for("admin.routing_rules_page", _anchor=f"rule-{rule.id}"))


@bp.post("/routing/<int:routing_rule_id>/active")
@admin_required
def activate_routing_rule(routing_rule_id: int) -> Response:
    rule = db.session.get(RoutingRule, routing_rule_id) or abort(404)
    active = request.form.get("active") == "1"
    routing_rules.set_active(rule, active)
    db.session.commit()
    state = "on: it is tried again" if active else "off: it is skipped, its counts stay"
    flash(f"Routing rule “{rule.name}” is {state}.", "success")
    return redirect(url_for("admin.routing_rules_page", _anchor=f"rule-{rule.id}"))


@bp.post("/routing/<int:routing_rule_id>/delete")
@admin_required
def delete_routing_rule(routing_rule_id: int) -> Response:
    rule = db.session.get(RoutingRule, routing_rule_id) or abort(404)
    name = rule.name
    routing_rules.remove_rule(rule)
    db.session.commit()
    flash(f"Routing rule “{name}” deleted; the tickets it routed stay where they are.", "success")
    return redirect(url_for("admin.routing_rules_page"))
