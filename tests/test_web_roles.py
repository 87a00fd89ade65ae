"""Roles are enforced on the server: every workspace route, for every role."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from channels.base import InboundAttachment
from helpdesk import saved_views, teams
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox
from helpdesk.models import (
    ApiToken,
    CustomerIdentity,
    InboundEmail,
    IntakeOutcome,
    Role,
    Ticket,
    WebhookDelivery,
    WebhookEndpoint,
)
from helpdesk.storage import blob_store
from helpdesk.tickets import routing_rules, service, stage_rules
from helpdesk.webhooks import signing

PASSWORD = "correct horse battery"
# Route classes by blueprint: who may use them.
STAFF = {Role.AGENT, Role.MANAGER, Role.ADMIN}
ROUTE_CLASSES = {"agent": STAFF, "manager": {Role.MANAGER, Role.ADMIN}, "admin": {Role.ADMIN}}
# Routes of a blueprint that narrow it further.
ROUTE_ROLES = {"agent.delete_ticket": {Role.MANAGER, Role.ADMIN}}


def allowed_roles(endpoint: str) -> set[Role]:
    """Who may use the route: its own roles, else its blueprint's."""
    return ROUTE_ROLES.get(endpoint, ROUTE_CLASSES[endpoint.partition(".")[0]])


@pytest.fixture
def world(app: Flask, setup, make_user, make_token, inbound) -> dict[str, int]:
    """One of everything a route can point at; the ids by URL parameter name."""
    with setup():
        admin = make_user(role=Role.ADMIN)
        make_token(admin)
        attachment = InboundAttachment("receipt.pdf", "application/pdf", b"%PDF-1.4")
        # An email with HTML and its original: every view of a message has something to show.
        message = service.receive(
            inbound(
                attachments=(attachment,),
                html="<p>Hello</p>",
                raw_ref=blob_store().put(b"Subject: hello\r\n\r\nHello\r\n"),
            )
        )
        macro = service.create_macro(None, service.MacroFields(name="Hello", text="Hi"))
        rule = stage_rules.add_rule("sales alias", "purchase", {"recipient": "sales@shop.test"})
        routing_rule = routing_rules.add_rule("sms", {"channel": "sms"}, priority="high")
        team = teams.create_team("Support")
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        quarantined = InboundEmail(
            mailbox=mailbox,
            uidvalidity=1,
            uid=1,
            dedupe_key="x" * 64,
            raw_ref=blob_store().put(b"Subject: broken\r\n\r\n"),
            size=21,
            outcome=IntakeOutcome.QUARANTINED,
            reason="no sender address",
        )
        db.session.add(quarantined)
        db.session.flush()
        ticket = db.session.get(Ticket, message.ticket_id)
        view = saved_views.create_view(admin, "Open", {"status": "open"}, teams.create_team("All"))
        webhook = WebhookEndpoint(
            url="https://hooks.shop.test/helpdesk",
            events=["ticket.created"],
            secret=signing.new_secret(),
        )
        db.session.add(webhook)
        db.session.flush()
        delivery = WebhookDelivery(
            endpoint_id=webhook.id, event_id="evt_1", event_type="ticket.created", payload={}
        )
        db.session.add(delivery)
        db.session.flush()
        return {
            "ticket_id": ticket.id,
            "customer_id": ticket.customer_id,
            "identity_id": db.session.scalar(select(CustomerIdentity.id)),
            "message_id": message.id,
            "attachment_id": message.attachments[0].id,
            "user_id": admin.id,
            "token_id": db.session.scalar(select(ApiToken.id)),
            "rule_id": rule.id,
            "routing_rule_id": routing_rule.id,
            "endpoint_id": ticket.endpoint_id,
            "mailbox_id": mailbox.id,
            "email_id": quarantined.id,
            "macro_id": macro.id,
            "team_id": team.id,
            "view_id": view.id,
            "webhook_id": webhook.id,
            "delivery_id": delivery.id,
        }


def workspace_routes(app: Flask, world: dict[str, int]) -> list[tuple[str, str, str]]:
    """(endpoint, method, path) for every route of the guarded blueprints."""
    found = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.partition(".")[0]
        if blueprint not in ROUTE_CLASSES:
            continue
        path = rule.build({name: world[name] for name in rule.arguments})[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, path))
    # Reads first, deletions last: a POST may remove what a later request points at.
    return sorted(found, key=lambda route: (route[1] != "GET", route[2].endswith("/delete")))


def test_every_workspace_route_belongs_to_a_guarded_class(app, world):
    routes = workspace_routes(app, world)
    assert {endpoint.partition(".")[0] for endpoint, _, _ in routes} == set(ROUTE_CLASSES)
    assert len(routes) >= 14


def test_strangers_are_sent_to_the_login_everywhere(app, client, world):
    for _, method, path in workspace_routes(app, world):
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login"), (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_each_role_reaches_exactly_its_route_classes(app, client, setup, make_user, world, role):
    with setup():
        email = make_user(role=role).email
    client.post("/login", data={"email": email, "password": PASSWORD})
    for endpoint, method, path in workspace_routes(app, world):
        response = client.open(path, method=method, data={})
        if role in allowed_roles(endpoint):
            assert response.status_code in (200, 204, 302, 400), (role, method, path)
        else:
            assert response.status_code == 403, (role, method, path)
            assert "Not for your role" in response.text
