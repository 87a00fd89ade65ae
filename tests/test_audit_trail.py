"""The audit trail read back: the admin page and GET /api/v1/audit filter it by who, what,
about what and when, newest first, a page at a time; only admins see it; and every API write
route and every admin action leaves its row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from test_admin_channels import MAILBOX

from helpdesk import credentials, two_factor
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox
from helpdesk.models import (
    ApiToken,
    AuditEvent,
    DeliveryState,
    Direction,
    Endpoint,
    Message,
    Role,
    RoutingRule,
    Stage,
    Ticket,
    User,
    WebhookDelivery,
)

WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}


def add_event(action: str, at: datetime, actor_id: int | None = None, **fields) -> int:
    """Put one row on the trail as if made at ``at`` (the app sets ``at`` to now)."""
    event = AuditEvent(
        action=action,
        at=at,
        actor_id=actor_id,
        target_type=fields.pop("target_type", "user"),
        **fields,
    )
    db.session.add(event)
    db.session.flush()
    return event.id


@pytest.fixture
def admin_api(setup, make_user, make_token):
    """An admin's id, token id and Authorization header."""
    with setup():
        admin = make_user(role=Role.ADMIN, name="Ada Admin")
        secret = make_token(admin)
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == admin.id))
        return admin.id, token_id, {"Authorization": f"Bearer {secret}"}


def ids(response) -> list[int]:
    return [item["id"] for item in response.json["items"]]


# --- the API ----------------------------------------------------------------------------------


def test_the_api_filters_by_actor_action_target_and_local_date(
    client, setup, make_user, admin_api, app
):
    app.config["HELPDESK_TIMEZONE"] = "America/New_York"
    try:
        admin, _, headers = admin_api
        with setup():
            dee = make_user(name="Dee").id
            # 04:30 UTC on 2 March is still 1 March in New York (UTC-5).
            early = add_event(
                "user.changed",
                datetime(2026, 3, 2, 4, 30, tzinfo=UTC),
                dee,
                target_id="7",
                before={"role": "agent"},
                after={"role": "admin"},
            )
            late = add_event(
                "user.created",
                datetime(2026, 3, 2, 15, 0, tzinfo=UTC),
                admin,
                target_id="8",
                after={"name": "Eve"},
            )
            api = add_event(
                "api.update_ticket",
                datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
                admin,
                target_type="ticket",
                target_id="8",
                after={"priority": "high"},
            )
            cli = add_event("users.renamed", datetime(2026, 3, 3, 9, 5, tzinfo=UTC), target_id="9")

        # Within March: the users and the token made above are on record too, as of today.
        march = {"from": "2026-03-01", "to": "2026-03-31"}

        def listed(**query) -> list[int]:
            query = {**march, **query}
            response = client.get("/api/v1/audit", query_string=query, headers=headers)
            assert response.status_code == 200, response.json
            return ids(response)

        assert listed() == [cli, api, late, early]  # newest first
        assert listed(actor=dee) == [early]
        assert listed(actor="system") == [cli]
        assert listed(action="user") == [late, early]  # up to a dot: not "users.renamed"
        assert listed(action="user.created") == [late]
        assert listed(action="api") == [api]
        assert listed(target_type="ticket", target_id="8") == [api]
        assert listed(target_id="8") == [api, late]
        assert listed(**{"from": "2026-03-02", "to": "2026-03-02"}) == [late]
        assert listed(**{"from": "2026-03-01", "to": "2026-03-01"}) == [early]
        [shown] = client.get(
            "/api/v1/audit", query_string={"actor": dee, **march}, headers=headers
        ).json["items"]
        assert shown["actor"]["name"] == "Dee" and shown["token"] is None
        assert (shown["before"], shown["after"]) == ({"role": "agent"}, {"role": "admin"})
        assert shown["at"] == "2026-03-02T04:30:00Z"
    finally:
        app.config["HELPDESK_TIMEZONE"] = "UTC"


def test_the_api_pages_by_cursor_without_gaps_or_repeats(client, setup, admin_api):
    _, _, headers = admin_api
    with setup():
        same_moment = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
        made = [add_event("user.changed", same_moment, target_id=str(n)) for n in range(5)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/audit", query_string=query, headers=headers).json
        seen += [item["id"] for item in page["items"] if item["action"] == "user.changed"]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == sorted(made, reverse=True)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"actor": "bob"}, "actor"),
        ({"from": "March 2"}, "from"),
        ({"from": "2026-03-05", "to": "2026-03-01"}, "to must not be before from"),
        ({"limit": "0"}, "limit"),
        ({"cursor": "not-ours"}, "cursor"),
        ({"target_type": "x" * 41}, "target_type"),
    ],
)
def test_the_api_refuses_bad_filters_naming_them(client, admin_api, query, named):
    _, _, headers = admin_api
    response = client.get("/api/v1/audit", query_string=query, headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid"
    assert named in response.json["error"]["message"]


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_the_api_trail_is_for_admins_only(client, setup, make_user, make_token, role):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user(role=role))}"}
    response = client.get("/api/v1/audit", headers=headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"
    assert client.get("/api/v1/audit").status_code == 401


# --- the admin page ---------------------------------------------------------------------------


def test_the_page_shows_who_how_when_and_only_what_changed(
    client, login, setup, make_user, open_ticket
):
    admin = login(Role.ADMIN, name="Ada Admin")
    ticket = open_ticket()
    with setup():
        token = ApiToken(name="zapier", user_id=admin, token_hash="h" * 64)
        db.session.add(token)
        db.session.flush()
        add_event(
            "api.update_ticket",
            datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            admin,
            token_id=token.id,
            target_type="ticket",
            target_id=str(ticket),
            after={"priority": "high"},
        )
        changed = add_event(
            "user.changed",
            datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            target_id=str(admin),
            before={"name": "Ada", "role": "admin", "password_hash": "(changed)"},
            after={"name": "Ada A.", "role": "admin", "password_hash": "(changed)"},
        )
    page = client.get("/admin/audit")
    assert page.status_code == 200
    html = page.text
    assert 'aria-current="page">Audit</a>' in html
    assert "via API token “zapier”" in html and "Ada Admin" in html
    assert "system (CLI, worker)" in html
    assert f'href="/tickets/{ticket}"' in html and f'href="/admin/users/{admin}"' in html
    assert "02 Mar 2026, 10:00:00" in html  # HELPDESK_TIMEZONE is UTC in the tests
    row = html.split(f'id="audit-{changed}"')[1].split("</tr>")[0]
    assert "<dt>name</dt><dd>Ada → Ada A.</dd>" in row
    assert "<dt>role</dt>" not in row  # unchanged keys are left out
    assert "<dt>password_hash</dt><dd><em>changed</em></dd>" in row


def test_the_page_filters_and_pages(client, login, setup):
    admin = login(Role.ADMIN)
    with setup():
        day = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
        made = [add_event("macro.created", day, admin, target_id=str(n)) for n in range(52)]
        other = add_event("team.created", datetime(2026, 4, 3, tzinfo=UTC), target_id="1")
    first = client.get("/admin/audit", query_string={"action": "macro"}).text
    assert f'id="audit-{made[-1]}"' in first and f'id="audit-{made[1]}"' not in first
    assert f'id="audit-{other}"' not in first
    cursor = first.split("cursor=")[1].split('"')[0]
    second = client.get(f"/admin/audit?action=macro&cursor={cursor}").text
    assert f'id="audit-{made[1]}"' in second and f'id="audit-{made[0]}"' in second
    assert f'id="audit-{made[-1]}"' not in second
    by_system = client.get("/admin/audit", query_string={"actor": "system"}).text
    assert f'id="audit-{other}"' in by_system and f'id="audit-{made[0]}"' not in by_system
    dated = client.get("/admin/audit", query_string={"from": "2026-04-02"}).text
    assert f'id="audit-{other}"' in dated and f'id="audit-{made[0]}"' not in dated


def test_the_page_says_which_filter_is_wrong_next_to_it(client, login):
    login(Role.ADMIN)
    page = client.get("/admin/audit", query_string={"from": "2026-04-05", "to": "2026-04-01"})
    assert page.status_code == 400
    assert '<p class="error" id="to-error">To must not be before From.</p>' in page.text
    assert 'value="2026-04-05"' in page.text  # what was typed stays
    page = client.get("/admin/audit", query_string={"actor": "99999"})
    assert page.status_code == 400
    assert 'id="actor-error">There is no user with that id' in page.text
    page = client.get("/admin/audit", query_string={"from": "yesterday"})
    assert page.status_code == 400 and 'id="from-error"' in page.text
    page = client.get("/admin/audit", query_string={"cursor": "nonsense"})
    assert page.status_code == 400 and "cursor is not one this server handed out" in page.text


@pytest.mark.parametrize("role", [Role.AGENT, Role.MANAGER])
def test_the_page_is_for_admins_only(client, login, role):
    login(role)
    assert client.get("/admin/audit").status_code == 403


# --- every write leaves a row -----------------------------------------------------------------


def api_writes(app) -> set[str]:
    """The endpoint of every API route that writes."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.methods & WRITE_METHODS
    }


def test_every_api_write_route_leaves_a_row_with_its_token(
    client, setup, admin_api, open_ticket, app, monkeypatch
):
    admin, token_id, headers = admin_api
    # The webhook subscribed below points at this machine (nothing is delivered to it).
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)
    with setup():
        # Never sent through: a taken-on-behalf ticket only needs the mailbox to exist.
        add_mailbox(
            MailboxSettings(
                "support@shop.test", "127.0.0.1", "support", "unused", smtp_host="127.0.0.1"
            )
        )
    first = open_ticket(sender="ann@customer.test")
    second = open_ticket(sender="bob@customer.test")
    third = open_ticket(sender="cid@customer.test", subject="Another thing")
    doomed = open_ticket(sender="dan@customer.test")
    binned = open_ticket(sender="eve@customer.test")
    with setup():
        customer, other_customer, doomed_customer = (
            db.session.get(Ticket, ticket).customer_id for ticket in (first, second, doomed)
        )

    numbers: list[str] = []

    def call(method: str, url: str, body: dict | None = None) -> dict:
        response = client.open(url, method=method, json=body, headers=headers)
        assert response.status_code < 300, (url, response.json)
        return response.json

    def failed_reply() -> int:
        reply = call("POST", f"/api/v1/tickets/{first}/replies", {"text": "On its way"})
        with setup():
            message = db.session.get(Message, reply["id"])
            assert message.direction == Direction.OUTBOUND
            message.delivery_state = DeliveryState.FAILED
        return reply["id"]

    def identity_added() -> int:
        number = f"+1555010{len(numbers) + 9000}"
        numbers.append(number)
        body = call(
            "POST", f"/api/v1/customers/{customer}/identities", {"kind": "phone", "value": number}
        )
        return next(i["id"] for i in body["identities"] if i["value"] == number)

    def macro_made() -> int:
        return call("POST", "/api/v1/macros", {"name": "Tag as VIP", "tags": ["vip"]})["id"]

    def view_made() -> int:
        return call("POST", "/api/v1/views", {"name": "Open", "filters": {"status": "open"}})["id"]

    def webhook_made() -> int:
        body = {"url": "http://127.0.0.1:9/helpdesk", "events": ["ticket.created"]}
        return call("POST", "/api/v1/webhooks", body)["id"]

    def delivery_made() -> str:
        webhook = webhook_made()
        open_ticket(sender="eve@customer.test")
        with setup():
            delivery = db.session.scalars(
                select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == webhook)
            ).one()
        return f"/api/v1/webhooks/{webhook}/deliveries/{delivery}/redeliver"

    def split_message() -> int:
        reply = call("POST", f"/api/v1/tickets/{first}/replies", {"text": "Split from here"})
        return reply["id"]

    def stage_rule_made() -> int:
        body = {"name": f"rule {len(numbers)}", "stage": "purchase"}
        numbers.append(body["name"])
        return call("POST", "/api/v1/stage-rules", body)["id"]

    def routing_rule_made() -> int:
        body = {"name": f"route {len(numbers)}", "gives_priority": "high"}
        numbers.append(body["name"])
        return call("POST", "/api/v1/routing-rules", body)["id"]

    with setup():
        endpoint_id = db.session.scalar(select(Endpoint.id))
    agent = call(
        "POST", "/api/v1/users", {"email": "new@shop.test", "password": "quiet harbour lantern"}
    )
    team = call("POST", "/api/v1/teams", {"name": "Walkers"})

    steps = {
        "api.update_ticket": lambda: call(
            "PATCH", f"/api/v1/tickets/{first}", {"priority": "high"}
        ),
        "api.bulk_update": lambda: call(
            "POST", "/api/v1/tickets/bulk", {"ids": [first], "changes": {"tags_add": ["vip"]}}
        ),
        "api.create_reply": failed_reply,
        "api.retry_message": lambda: call("POST", f"/api/v1/messages/{failed_reply()}/retry"),
        "api.create_note": lambda: call(
            "POST", f"/api/v1/tickets/{first}/notes", {"text": "checked"}
        ),
        "api.create_macro": lambda: call(
            "POST", "/api/v1/macros", {"name": "Thanks", "priority": "low"}
        ),
        "api.apply_macro": lambda: call(
            "POST", f"/api/v1/tickets/{first}/macros/{macro_made()}", {}
        ),
        "api.update_macro": lambda: call(
            "PATCH", f"/api/v1/macros/{macro_made()}", {"name": "Tag as VIP now"}
        ),
        "api.delete_macro": lambda: call("DELETE", f"/api/v1/macros/{macro_made()}"),
        "api.create_view": view_made,
        "api.update_view": lambda: call(
            "PATCH", f"/api/v1/views/{view_made()}", {"filters": {"status": "new"}}
        ),
        "api.delete_view": lambda: call("DELETE", f"/api/v1/views/{view_made()}"),
        "api.add_ticket_tag": lambda: call("PUT", f"/api/v1/tickets/{first}/tags/refund"),
        "api.remove_ticket_tag": lambda: call("DELETE", f"/api/v1/tickets/{first}/tags/refund"),
        "api.split_ticket": lambda: call(
            "POST", f"/api/v1/tickets/{first}/split", {"message_id": split_message()}
        ),
        "api.merge_ticket": lambda: call(
            "POST", f"/api/v1/tickets/{third}/merge", {"into": second}
        ),
        "api.mark_spam": lambda: call("POST", f"/api/v1/tickets/{binned}/spam"),
        "api.unmark_spam": lambda: call("DELETE", f"/api/v1/tickets/{binned}/spam"),
        "api.delete_ticket": lambda: call("DELETE", f"/api/v1/tickets/{binned}"),
        "api.restore_ticket": lambda: call("POST", f"/api/v1/tickets/{binned}/restore"),
        "api.create_ticket": lambda: call(
            "POST",
            "/api/v1/tickets",
            {
                "customer": customer,
                "channel": "email",
                "subject": "By phone",
                "text": "Called about a refund",
                "outbound": False,
                "endpoint": "support@shop.test",
            },
        ),
        "api.create_customer": lambda: call(
            "POST",
            "/api/v1/customers",
            {"name": "Gus", "identities": [{"kind": "email", "value": "gus@customer.test"}]},
        ),
        "api.update_customer": lambda: call(
            "PATCH", f"/api/v1/customers/{customer}", {"notes": "prefers phone"}
        ),
        "api.add_identity": identity_added,
        "api.remove_identity": lambda: call(
            "DELETE", f"/api/v1/customers/{customer}/identities/{identity_added()}"
        ),
        "api.merge_customer": lambda: call(
            "POST", f"/api/v1/customers/{other_customer}/merge", {"into": customer}
        ),
        "api.erase_customer": lambda: call(
            "POST", f"/api/v1/customers/{doomed_customer}/erase", {"confirm": "ERASE"}
        ),
        "api.create_user": lambda: call(
            "POST", "/api/v1/users", {"email": "kim@shop.test", "password": "quiet harbour lantern"}
        ),
        "api.update_user": lambda: call(
            "PATCH", f"/api/v1/users/{agent['id']}", {"teams": [team["id"]]}
        ),
        "api.create_team": lambda: call("POST", "/api/v1/teams", {"name": "Returns"}),
        "api.update_team": lambda: call("PATCH", f"/api/v1/teams/{team['id']}", {"capacity": 4}),
        "api.create_stage_rule": stage_rule_made,
        "api.update_stage_rule": lambda: call(
            "PATCH", f"/api/v1/stage-rules/{stage_rule_made()}", {"enabled": False}
        ),
        "api.delete_stage_rule": lambda: call("DELETE", f"/api/v1/stage-rules/{stage_rule_made()}"),
        "api.set_default_stage": lambda: call(
            "PUT", f"/api/v1/endpoints/{endpoint_id}/default-stage", {"stage": "use"}
        ),
        "api.create_routing_rule": routing_rule_made,
        "api.update_routing_rule": lambda: call(
            "PATCH", f"/api/v1/routing-rules/{routing_rule_made()}", {"position": 1}
        ),
        "api.delete_routing_rule": lambda: call(
            "DELETE", f"/api/v1/routing-rules/{routing_rule_made()}"
        ),
        "api.set_service_target": lambda: call(
            "PUT",
            "/api/v1/service-targets/purchase",
            {"first_response_minutes": 30, "resolution_minutes": None},
        ),
        "api.create_webhook": webhook_made,
        "api.delete_webhook": lambda: call("DELETE", f"/api/v1/webhooks/{webhook_made()}"),
        "api.update_webhook": lambda: call(
            "PATCH", f"/api/v1/webhooks/{webhook_made()}", {"events": ["ticket.updated"]}
        ),
        "api.rotate_webhook_secret": lambda: call(
            "POST", f"/api/v1/webhooks/{webhook_made()}/rotate-secret"
        ),
        "api.redeliver_webhook_event": lambda: call("POST", delivery_made()),
    }
    # A write route added without a step here fails: the walk must cover every one.
    assert set(steps) == api_writes(app)
    for endpoint, step in steps.items():
        with setup():
            before = db.session.scalar(select(db.func.count()).where(AuditEvent.action == endpoint))
        step()
        with setup():
            rows = db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == endpoint).order_by(AuditEvent.id)
            ).all()
            assert len(rows) > before, f"{endpoint} left no audit row"
            assert (rows[-1].actor_id, rows[-1].token_id) == (admin, token_id), endpoint


def admin_actions(app) -> set[str]:
    """The endpoint of every admin page that takes a POST."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "POST" in rule.methods
    }


def test_every_admin_action_leaves_a_row_by_its_admin(
    client, login, setup, open_ticket, app, monkeypatch
):
    admin = login(Role.ADMIN)
    # The webhook subscribed below points at this machine (nothing is delivered to it).
    monkeypatch.setitem(app.config, "HELPDESK_WEBHOOKS_ALLOW_PRIVATE", True)
    customer_ticket = open_ticket(sender="erin@customer.test")
    with setup():
        customer = db.session.get(Ticket, customer_ticket).customer_id
        support_address = db.session.get(Ticket, customer_ticket).endpoint_id
    password = {"password": "correct horse battery", "confirm": "correct horse battery"}

    def post(url: str, data: dict | None = None):
        response = client.post(url, data=data or {})
        assert response.status_code in (200, 302), (url, response.status_code)
        return response

    def newest(target_type: str) -> str:
        with setup():
            return db.session.scalar(
                select(AuditEvent.target_id)
                .where(AuditEvent.target_type == target_type)
                .order_by(AuditEvent.id.desc())
                .limit(1)
            )

    def routing_form(**fields: str) -> dict[str, str]:
        return {name: "" for name in (*RoutingRule.CONDITIONS, "team", "gives_priority")} | fields

    user = lambda: newest("user")  # noqa: E731
    binned = open_ticket(sender="eve@customer.test")
    webhook = lambda: newest("webhook")  # noqa: E731

    def reset_two_factor() -> None:
        with setup():
            bo = db.session.get(User, int(user()))
            bo.totp_secret_encrypted = credentials.encrypt(two_factor.new_secret())
        post(f"/admin/users/{user()}/two-factor/reset")

    def redeliver() -> None:
        open_ticket(sender="fay@customer.test")  # queues a ticket.created for the endpoint
        with setup():
            delivery = db.session.scalar(
                select(WebhookDelivery.id).order_by(WebhookDelivery.id.desc()).limit(1)
            )
        post(f"/admin/webhooks/{webhook()}/deliveries/{delivery}/redeliver")

    steps = {
        "admin.new_user": lambda: post(
            "/admin/users/new",
            {"name": "Bo", "email": "bo@helpdesk.test", "role": "agent", **password},
        ),
        "admin.edit_user": lambda: post(
            f"/admin/users/{user()}", {"name": "Bo", "role": "manager", "submit": "1"}
        ),
        "admin.reset_password": lambda: post(
            f"/admin/users/{user()}/password",
            {f"pw-{name}": value for name, value in password.items()},
        ),
        "admin.reset_two_factor": reset_two_factor,
        # Left off: requiring it would send this admin to set up two-factor before the rest.
        "admin.two_factor_policy": lambda: post("/admin/users/two-factor-policy"),
        "admin.tokens": lambda: post("/admin/tokens", {"user": str(admin), "name": "shop"}),
        "admin.revoke_token": lambda: post(f"/admin/tokens/{newest('token')}/revoke"),
        "admin.sla_targets": lambda: post("/admin/sla", {"purchase_first_response": "2h"}),
        "admin.new_team": lambda: post(
            "/admin/teams/new", {"name": "Billing", "assignment": "off", "capacity": "5"}
        ),
        "admin.edit_team": lambda: post(
            f"/admin/teams/{newest('team')}",
            {"name": "Billing EU", "assignment": "off", "capacity": "5"},
        ),
        "admin.macros": lambda: post("/admin/macros", {"name": "Hi", "text": "Hello"}),
        "admin.macro": lambda: post(
            f"/admin/macros/{newest('macro')}", {"name": "Hi", "text": "Hello there"}
        ),
        "admin.delete_macro": lambda: post(f"/admin/macros/{newest('macro')}/delete"),
        # Two of each kind of rule, so the newest can move up.
        "admin.new_stage_rule": lambda: [
            post("/admin/stages/new", {"name": name, "stage": "use", "keyword": name})
            for name in ("refund", "broken")
        ],
        "admin.edit_stage_rule": lambda: post(
            f"/admin/stages/{newest('stage_rule')}",
            {"stage": "use", "channel": "", "keyword": "defect"},
        ),
        "admin.move_stage_rule": lambda: post(
            f"/admin/stages/{newest('stage_rule')}/move", {"direction": "up"}
        ),
        "admin.enable_stage_rule": lambda: post(
            f"/admin/stages/{newest('stage_rule')}/enabled", {"enabled": "0"}
        ),
        "admin.set_endpoint_stage": lambda: post(
            f"/admin/endpoints/{support_address}/stage", {"stage": "purchase"}
        ),
        "admin.new_routing_rule": lambda: [
            post("/admin/routing/new", routing_form(name=name, tag=name, gives_priority="high"))
            for name in ("vip", "press")
        ],
        "admin.edit_routing_rule": lambda: post(
            f"/admin/routing/{newest('routing_rule')}",
            routing_form(tag="vip", gives_priority="low"),
        ),
        "admin.move_routing_rule": lambda: post(
            f"/admin/routing/{newest('routing_rule')}/move", {"direction": "up"}
        ),
        "admin.activate_routing_rule": lambda: post(
            f"/admin/routing/{newest('routing_rule')}/active", {"active": "0"}
        ),
        "admin.delete_routing_rule": lambda: post(
            f"/admin/routing/{newest('routing_rule')}/delete"
        ),
        "admin.add_mailbox": lambda: post("/admin/channels/mailboxes", MAILBOX),
        "admin.edit_mailbox": lambda: post(
            f"/admin/channels/mailboxes/{newest('mailbox')}",
            {**MAILBOX, "imap_port": "1993", "imap_password": "", "enabled": "y"},
        ),
        "admin.remove_mailbox": lambda: post(
            f"/admin/channels/mailboxes/{newest('mailbox')}/remove"
        ),
        "admin.add_number": lambda: post(
            "/admin/channels/sms", {"number": "+15550001111", "keywords": "ORDER=purchase"}
        ),
        "admin.remove_number": lambda: post(
            "/admin/channels/sms/remove", {"address": "+15550001111"}
        ),
        "admin.chat_sites_page": lambda: post(
            "/admin/chat-sites",
            {"name": "Shop", "origins": "https://shop.example", "url_rules": ""},
        ),
        "admin.survey_settings_page": lambda: post(
            "/admin/surveys",
            {
                **{f"{stage.value}_kind": "" for stage in Stage},
                "use_kind": "nps",
                "follow_up": "ticket",
                "ask_interval_days": "14",
            },
        ),
        "admin.export_customer": lambda: post(f"/admin/customers/{customer}/export"),
        "admin.erase_customer": lambda: post(
            f"/admin/customers/{customer}/erase", {"confirmation": "ERASE"}
        ),
        "admin.webhooks": lambda: post(
            "/admin/webhooks", {"url": "http://127.0.0.1:9/hook", "events": "ticket.created"}
        ),
        "admin.webhook": lambda: post(
            f"/admin/webhooks/{webhook()}", {"events": ["ticket.created", "ticket.updated"]}
        ),
        "admin.rotate_webhook_secret": lambda: post(f"/admin/webhooks/{webhook()}/rotate"),
        "admin.pause_webhook": lambda: post(f"/admin/webhooks/{webhook()}/pause"),
        "admin.resume_webhook": lambda: post(f"/admin/webhooks/{webhook()}/resume"),
        "admin.redeliver_webhook": redeliver,
        "admin.delete_webhook": lambda: post(f"/admin/webhooks/{webhook()}/delete"),
        "admin.restore_ticket": lambda: [
            post(f"/tickets/{binned}/delete"),
            post(f"/admin/trash/{binned}/restore"),
        ],
    }
    # A new admin action fails here until it is walked.
    assert set(steps) == admin_actions(app)
    for action, step in steps.items():
        with setup():
            last = db.session.scalar(select(db.func.max(AuditEvent.id))) or 0
        step()
        with setup():
            by_admin = db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.id > last, AuditEvent.actor_id == admin)
            ).all()
        assert by_admin, f"{action} left no audit row"


def test_removing_an_sms_number_records_each_keyword_rule_that_goes(client, login, app):
    admin = login(Role.ADMIN)
    client.post(
        "/admin/channels/sms", data={"number": "+15550001111", "keywords": "ORDER=purchase"}
    )
    client.post("/admin/channels/sms/remove", data={"address": "+15550001111"})
    with app.app_context():
        [gone] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "stage_rule.deleted")
        ).all()
    assert gone.actor_id == admin and gone.before["first_word"] == "ORDER"


def test_an_admins_read_token_may_not_read_the_trail(client, setup, make_user):
    from helpdesk.accounts import mint_token
    from helpdesk.models import TokenScope

    with setup():
        minted = mint_token(make_user(role=Role.ADMIN), "reports only", TokenScope.READ)
        secret = minted.secret
    response = client.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "insufficient-scope"
