"""Schemathesis sends requests generated from the OpenAPI document to every route: none may
answer 5xx, and every answer must be one the document describes (status, content type, headers,
body schema). Seeded and bounded, so each run sends the same few requests; an admin's token
reaches every route, admin-only ones too."""

from __future__ import annotations

import os

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from channels.base import InboundAttachment
from helpdesk import saved_views, teams
from helpdesk.extensions import db
from helpdesk.models import Ticket, User
from helpdesk.tickets import routing_rules, service, stage_rules

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# A seeded sample of each route's inputs: 25 a route took minutes of the suite on PostgreSQL;
# HELPDESK_TEST_FUZZ_EXAMPLES=25 (or more) sends more.
EXAMPLES_PER_ROUTE = int(os.environ.get("HELPDESK_TEST_FUZZ_EXAMPLES", "10"))


def test_generated_requests_get_documented_answers(app, setup, make_user, make_token, open_ticket):
    with setup():
        admin = make_user(role="admin")
        admin_id = admin.id
        headers = {"Authorization": f"Bearer {make_token(admin)}"}
    receipt = InboundAttachment("receipt.pdf", "application/pdf", b"%PDF-1.4 receipt")
    email = open_ticket(
        sender="ada@customer.test",
        sender_name="Ada",
        text="Order 1001 broke",
        attachments=(receipt,),
    )
    open_ticket("sms", sender="+15550002001", text="Where is it?")
    with setup():
        ticket = db.session.get(Ticket, email)
        customer, message = ticket.customer_id, ticket.messages[0].id
        attachment = ticket.messages[0].attachments[0].id
        identity = ticket.customer.identities[0].id
        macro = service.create_macro(
            None, service.MacroFields(name="Thanks", text="Thanks {{ customer.first_name }}")
        ).id
        owner = db.session.get(User, admin_id)
        view = saved_views.create_view(owner, "Open", {"status": "open"}, None).id
        user = make_user(role="agent").id  # changed at will: never the token's own admin
        team = teams.create_team("Support").id
        stage_rule = stage_rules.add_rule("sales", "purchase", {"recipient": "sales@shop.test"}).id
        routing_rule = routing_rules.add_rule("texts", {"channel": "sms"}, priority="high").id
        endpoint = ticket.endpoint_id
    open_ticket("chat", sender="visitor-7", text="Hi")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy()
        names = {parameter.name for parameter in operation.path_parameters}
        if names:
            existing = {
                "ticket_id": email,
                "customer_id": customer,
                "message_id": message,
                "attachment_id": attachment,
                "macro_id": macro,
                "identity_id": identity,
                "view_id": view,
                "tag": "vip",
                "webhook_id": 1,  # none yet: the documented 404
                "delivery_id": 1,
                "user_id": user,
                "team_id": team,
                "rule_id": stage_rule,
                "routing_rule_id": routing_rule,
                "endpoint_id": endpoint,
                "stage": "purchase",
            }
            strategy |= operation.as_strategy(
                path_parameters={name: existing[name] for name in names}
            )

        @settings(
            max_examples=EXAMPLES_PER_ROUTE,
            derandomize=True,
            database=None,
            deadline=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def answers_as_documented(case: schemathesis.Case) -> None:
            case.validate_response(case.call(headers=headers), checks=CHECKS)

        answers_as_documented()
