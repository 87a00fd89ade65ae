"""API views of the stage rules and the endpoints' default stages: anyone reads them, admins
change them, through the same service as the admin pages (``helpdesk.tickets.stage_rules``)."""

from __future__ import annotations

from flask import request

from helpdesk.extensions import db
from helpdesk.models import Endpoint, StageRule, TokenScope
from helpdesk.tickets import stage_rules
from helpdesk.tickets.errors import InvalidRule
from helpdesk.tickets.stages import ordered_rules
from helpdesk.web.api import bp, stage_rule_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import found, rule_refusal
from helpdesk.web.api.openapi import operation


@bp.get("/stage-rules")
@operation("listStageRules", (200, stage_rule_schemas.StageRulePage, "Every rule, in order."))
def list_stage_rules() -> stage_rule_schemas.StageRulePage:
    """The stage rules in the order the engine tries them, with how often each decided

    At intake the customer's own choice comes first, then these rules (the first enabled
    match wins), then the endpoint's default stage, then `unknown`.
    """
    usage = stage_rules.rule_usage()
    rules = ordered_rules()
    return stage_rule_schemas.StageRulePage(
        items=[_shown(rule, place, usage) for place, rule in enumerate(rules, start=1)]
    )


@bp.get("/stage-rules/<int:rule_id>")
@operation("getStageRule", (200, stage_rule_schemas.StageRule, "The rule."), (401, 404))
def get_stage_rule(rule_id: int) -> stage_rule_schemas.StageRule:
    """One stage rule with its place and how often it decided"""
    return _answer(found(StageRule, rule_id, "stage rule"))


@bp.post("/stage-rules")
@operation(
    "createStageRule",
    (201, stage_rule_schemas.StageRule, "The new rule."),
    (401, 403),
    json=stage_rule_schemas.NewStageRule,
    scope=TokenScope.ADMIN,
)
def create_stage_rule() -> tuple[stage_rule_schemas.StageRule, int]:
    """Add a stage rule (admins); audited

    It applies to requests taken in from now on. A name another rule has, an unknown channel,
    a first word of several words or a value too long answers 400 `invalid` naming the field.
    """
    _admin()
    body: stage_rule_schemas.NewStageRule = request.context.json
    try:
        rule = stage_rules.add_rule(
            body.name, body.stage, body.conditions.model_dump(), enabled=body.enabled
        )
    except InvalidRule as refused:
        raise rule_refusal(refused, StageRule.CONDITIONS) from None
    if body.position is not None:
        stage_rules.place_rule(rule, body.position)
    db.session.commit()
    return _answer(rule), 201


@bp.patch("/stage-rules/<int:rule_id>")
@operation(
    "updateStageRule",
    (200, stage_rule_schemas.StageRule, "The rule as changed."),
    (401, 403, 404),
    json=stage_rule_schemas.StageRuleChanges,
    scope=TokenScope.ADMIN,
)
def update_stage_rule(rule_id: int) -> stage_rule_schemas.StageRule:
    """Change a stage rule's stage, conditions, place or switch it on or off (admins); audited

    Only the fields sent are written, all or nothing. Tickets it decided keep their stage.
    """
    _admin()
    rule = found(StageRule, rule_id, "stage rule")
    body: stage_rule_schemas.StageRuleChanges = request.context.json
    sent = body.model_fields_set
    if {"stage", "conditions"} & sent:
        conditions = body.conditions.model_dump() if "conditions" in sent else rule.conditions()
        try:
            stage_rules.update_rule(rule, body.stage if "stage" in sent else rule.stage, conditions)
        except InvalidRule as refused:
            raise rule_refusal(refused, StageRule.CONDITIONS) from None
    if "enabled" in sent:
        stage_rules.set_enabled(rule, body.enabled)
    if "position" in sent:
        stage_rules.place_rule(rule, body.position)
    db.session.commit()
    return _answer(rule)


@bp.delete("/stage-rules/<int:rule_id>")
@operation(
    "deleteStageRule",
    (204, None, "Removed."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def delete_stage_rule(rule_id: int) -> tuple[str, int]:
    """Remove a stage rule (admins); audited

    Tickets it decided keep their stage and its name as their intake rule.
    """
    _admin()
    stage_rules.remove_rule(found(StageRule, rule_id, "stage rule"))
    db.session.commit()
    return "", 204


@bp.get("/endpoints")
@operation("listEndpoints", (200, stage_rule_schemas.EndpointPage, "Every endpoint."))
def list_endpoints() -> stage_rule_schemas.EndpointPage:
    """The mailboxes, SMS numbers and chat sites, with the stage each defaults to"""
    return stage_rule_schemas.EndpointPage(items=stage_rules.endpoints())


@bp.put("/endpoints/<int:endpoint_id>/default-stage")
@operation(
    "setEndpointDefaultStage",
    (200, stage_rule_schemas.Endpoint, "The endpoint with its default stage."),
    (401, 403, 404),
    json=stage_rule_schemas.DefaultStage,
    scope=TokenScope.ADMIN,
)
def set_default_stage(endpoint_id: int) -> stage_rule_schemas.Endpoint:
    """Set the stage an endpoint's requests get when no rule matches (admins); audited"""
    _admin()
    endpoint = found(Endpoint, endpoint_id, "endpoint")
    body: stage_rule_schemas.DefaultStage = request.context.json
    stage_rules.set_endpoint_default(endpoint, body.stage)
    db.session.commit()
    return stage_rule_schemas.Endpoint.model_validate(endpoint)


def _admin() -> None:
    require_role(ADMINS, "stage rules and endpoints are for admins to change")


def _answer(rule: StageRule) -> stage_rule_schemas.StageRule:
    return _shown(rule, stage_rules.place_of(rule), stage_rules.rule_usage())


def _shown(
    rule: StageRule, place: int, usage: dict[str, stage_rules.RuleUsage]
) -> stage_rule_schemas.StageRule:
    counts = usage.get(rule.name, stage_rules.RuleUsage())
    return stage_rule_schemas.StageRule(
        id=rule.id,
        name=rule.name,
        position=place,
        stage=rule.stage,
        enabled=rule.enabled,
        conditions=stage_rule_schemas.StageConditions(
            **{name: str(value) for name, value in rule.conditions().items()}
        ),
        decided=counts.decided,
        corrected=counts.corrected,
        created_at=rule.created_at,
    )
