"""API views of the routing rules: anyone reads them, admins change them, through the same
service as the admin pages (``helpdesk.tickets.routing_rules``)."""

from __future__ import annotations

from flask import request

from helpdesk.extensions import db
from helpdesk.models import RoutingRule, Team, TokenScope, utcnow
from helpdesk.tickets import routing_rules
from helpdesk.tickets.errors import InvalidRule
from helpdesk.tickets.routing import ordered_rules
from helpdesk.web.api import bp, routing_rule_schemas
from helpdesk.web.api.auth import ADMINS, require_role
from helpdesk.web.api.errors import found, found_all, rule_refusal
from helpdesk.web.api.openapi import operation


@bp.get("/routing-rules")
@operation("listRoutingRules", (200, routing_rule_schemas.RoutingRulePage, "Every rule."))
def list_routing_rules() -> routing_rule_schemas.RoutingRulePage:
    """The routing rules in the order they are tried, with how many tickets each routed

    Routing sets a new ticket's team and priority, and runs again when its stage is
    corrected, for whichever of the two no person has set by hand.
    """
    usage = routing_rules.rule_usage(utcnow())
    return routing_rule_schemas.RoutingRulePage(
        items=[_shown(rule, place, usage) for place, rule in enumerate(ordered_rules(), start=1)]
    )


@bp.get("/routing-rules/<int:routing_rule_id>")
@operation("getRoutingRule", (200, routing_rule_schemas.RoutingRule, "The rule."), (401, 404))
def get_routing_rule(routing_rule_id: int) -> routing_rule_schemas.RoutingRule:
    """One routing rule with its place and how many tickets it routed"""
    return _answer(found(RoutingRule, routing_rule_id, "routing rule"))


@bp.post("/routing-rules")
@operation(
    "createRoutingRule",
    (201, routing_rule_schemas.RoutingRule, "The new rule."),
    (401, 403),
    json=routing_rule_schemas.NewRoutingRule,
    scope=TokenScope.ADMIN,
)
def create_routing_rule() -> tuple[routing_rule_schemas.RoutingRule, int]:
    """Add a routing rule (admins); audited

    It applies to tickets routed from now on. A name another rule has, an unknown stage,
    channel or priority, or a rule that sets neither a team nor a priority answers 400
    `invalid` naming the field.
    """
    _admin()
    body: routing_rule_schemas.NewRoutingRule = request.context.json
    try:
        rule = routing_rules.add_rule(
            body.name,
            body.conditions.model_dump(),
            team=_team(body.team),
            priority=body.gives_priority,
        )
    except InvalidRule as refused:
        raise rule_refusal(refused, RoutingRule.CONDITIONS) from None
    if body.position is not None:
        routing_rules.place_rule(rule, body.position)
    db.session.commit()
    return _answer(rule), 201


@bp.patch("/routing-rules/<int:routing_rule_id>")
@operation(
    "updateRoutingRule",
    (200, routing_rule_schemas.RoutingRule, "The rule as changed."),
    (401, 403, 404),
    json=routing_rule_schemas.RoutingRuleChanges,
    scope=TokenScope.ADMIN,
)
def update_routing_rule(routing_rule_id: int) -> routing_rule_schemas.RoutingRule:
    """Change a routing rule's conditions, team, priority, place, or switch it (admins); audited

    Only the fields sent are written, all or nothing. Tickets it routed stay where they are.
    """
    _admin()
    rule = found(RoutingRule, routing_rule_id, "routing rule")
    body: routing_rule_schemas.RoutingRuleChanges = request.context.json
    sent = body.model_fields_set
    if {"conditions", "team", "gives_priority"} & sent:
        try:
            routing_rules.update_rule(
                rule,
                body.conditions.model_dump() if "conditions" in sent else rule.conditions(),
                team=_team(body.team) if "team" in sent else rule.team,
                priority=body.gives_priority if "gives_priority" in sent else rule.gives_priority,
            )
        except InvalidRule as refused:
            raise rule_refusal(refused, RoutingRule.CONDITIONS) from None
    if "active" in sent:
        routing_rules.set_active(rule, body.active)
    if "position" in sent:
        routing_rules.place_rule(rule, body.position)
    db.session.commit()
    return _answer(rule)


@bp.delete("/routing-rules/<int:routing_rule_id>")
@operation(
    "deleteRoutingRule",
    (204, None, "Removed."),
    (401, 403, 404),
    scope=TokenScope.ADMIN,
)
def delete_routing_rule(routing_rule_id: int) -> tuple[str, int]:
    """Remove a routing rule (admins); audited

    Tickets it routed keep their team, priority and its name.
    """
    _admin()
    routing_rules.remove_rule(found(RoutingRule, routing_rule_id, "routing rule"))
    db.session.commit()
    return "", 204


def _admin() -> None:
    require_role(ADMINS, "routing rules are for admins to change")


def _team(team_id: int | None) -> Team | None:
    return None if team_id is None else found_all(Team, [team_id], "team", "team")[0]


def _answer(rule: RoutingRule) -> routing_rule_schemas.RoutingRule:
    return _shown(rule, routing_rules.place_of(rule), routing_rules.rule_usage(utcnow()))


def _shown(
    rule: RoutingRule, place: int, usage: dict[str, routing_rules.RuleUsage]
) -> routing_rule_schemas.RoutingRule:
    counts = usage.get(rule.name, routing_rules.RuleUsage())
    return routing_rule_schemas.RoutingRule(
        id=rule.id,
        name=rule.name,
        position=place,
        active=rule.active,
        conditions=routing_rule_schemas.RoutingConditions(
            **{name: str(value) for name, value in rule.conditions().items()}
        ),
        team=rule.team,
        gives_priority=rule.gives_priority,
        routed=counts.routed,
        recent=counts.recent,
        created_at=rule.created_at,
    )
