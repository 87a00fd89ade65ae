"""Configuration over the API: users, teams, stage rules, endpoints' default stages, routing
rules and service targets. Any token reads them; admins change them, by the same rules as the
admin pages, and a rule made here really decides what intake does."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk import accounts
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Role, StageSource, Ticket


@pytest.fixture
def bearer(setup, make_user):
    """``bearer(role, scope)``: (user id, Authorization header) of a new user of that role."""

    def build(role: Role | str = Role.ADMIN, scope: str | None = None) -> tuple[int, dict]:
        with setup():
            user = make_user(role=role)
            minted = accounts.mint_token(user, scope=scope)
            return user.id, {"Authorization": f"Bearer {minted.secret}"}

    return build


@pytest.fixture
def admin(bearer) -> dict[str, str]:
    """An admin token's Authorization header."""
    return bearer(Role.ADMIN)[1]


@pytest.fixture
def api(client, admin):
    """``api(method, path, body, headers=admin)``: the answer's status and JSON."""

    def call(method: str, path: str, body: dict | None = None, headers: dict | None = None):
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers or admin)
        return response.status_code, response.get_json()

    return call


def fields_at_fault(answer: dict) -> list[str]:
    assert answer["error"]["code"] == "invalid", answer
    return answer["error"]["details"]["fields"]


# --- users -------------------------------------------------------------------------------------


def test_an_admin_adds_reads_and_changes_a_user_and_the_password_stays_secret(api, client, setup):
    status, team = api("POST", "/teams", {"name": "Billing"})
    assert status == 201
    status, made = api(
        "POST",
        "/users",
        {
            "email": " Kim@Shop.test ",
            "name": "Kim",
            "role": "agent",
            "password": "amber kettle drift",
        },
    )
    assert status == 201, made
    assert "password" not in made and "password_hash" not in made
    assert (made["email"], made["role"], made["active"], made["team_ids"]) == (
        "kim@shop.test",
        "agent",
        True,
        [],
    )
    status, listed = api("GET", "/users")
    assert status == 200 and made in listed["items"] and listed["next_cursor"] is None

    status, changed = api(
        "PATCH",
        f"/users/{made['id']}",
        {"name": "Kim Lee", "role": "manager", "teams": [team["id"]], "password": "n3w-passphrase"},
    )
    assert status == 200, changed
    assert (changed["name"], changed["role"], changed["team_ids"]) == (
        "Kim Lee",
        "manager",
        [team["id"]],
    )
    assert api("GET", f"/users/{made['id']}") == (200, changed)
    assert api("GET", f"/teams/{team['id']}")[1]["members"][0]["id"] == made["id"]
    login = client.post("/login", data={"email": "kim@shop.test", "password": "n3w-passphrase"})
    assert login.status_code == 302
    with setup():
        trail = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        sent = [row.after for row in trail if row.action in ("api.create_user", "api.update_user")]
        assert [body["password"] for body in sent] == ["(changed)", "(changed)"]
        assert "s3cret-pass" not in str([(row.before, row.after) for row in trail])
        renamed = next(row for row in trail if row.action == "user.changed")
        assert (renamed.before["name"], renamed.after["name"]) == ("Kim", "Kim Lee")

    status, gone = api("PATCH", f"/users/{made['id']}", {"active": False, "teams": []})
    assert status == 200 and (gone["active"], gone["team_ids"]) == (False, [])


def test_the_last_active_admin_is_never_locked_out(api, bearer):
    admin_id, headers = bearer(Role.ADMIN)
    # The admin fixture made another admin: they may demote each other until one is left.
    others = [u for u in api("GET", "/users", headers=headers)[1]["items"] if u["id"] != admin_id]
    (other,) = [u for u in others if u["role"] == "admin"]
    assert api("PATCH", f"/users/{other['id']}", {"role": "agent"}, headers)[0] == 200

    status, answer = api("PATCH", f"/users/{admin_id}", {"role": "agent"}, headers)
    assert status == 400 and fields_at_fault(answer) == ["role"]
    assert "last active admin" in answer["error"]["message"]
    status, answer = api("PATCH", f"/users/{admin_id}", {"active": False}, headers)
    assert status == 400 and fields_at_fault(answer) == ["active"]
    assert api("GET", f"/users/{admin_id}", headers=headers)[1]["role"] == "admin"


def test_bad_user_input_is_named_and_changes_nothing(api, setup):
    good = {"email": "lou@shop.test", "password": "quiet harbour lantern"}
    assert api("POST", "/users", good)[0] == 201
    cases = [
        ({**good, "email": "lou@SHOP.test"}, ["email"]),
        ({**good, "email": "no-at-sign"}, ["email"]),
        ({**good, "email": "max@shop.test", "password": "short"}, ["password"]),
        ({**good, "email": "max@shop.test", "role": "owner"}, ["role"]),
        ({**good, "email": "max@shop.test", "admin": True}, ["admin"]),
    ]
    for body, fields in cases:
        status, answer = api("POST", "/users", body)
        assert status == 400 and fields_at_fault(answer) == fields, body
    lou = next(u for u in api("GET", "/users")[1]["items"] if u["email"] == "lou@shop.test")
    for body, fields in [
        ({"teams": [999]}, ["teams"]),
        ({"name": None}, ["name"]),
        ({"active": "no"}, ["active"]),
    ]:
        status, answer = api("PATCH", f"/users/{lou['id']}", body)
        assert status == 400 and fields_at_fault(answer) == fields, body
    # A deactivated user joins no team; the deactivation sent with it is not kept either.
    team = api("POST", "/teams", {"name": "Shop"})[1]
    status, answer = api("PATCH", f"/users/{lou['id']}", {"active": False, "teams": [team["id"]]})
    assert status == 400 and fields_at_fault(answer) == ["teams"]
    assert api("GET", f"/users/{lou['id']}")[1]["active"] is True
    assert api("GET", "/users/424242")[0] == 404


def test_agents_read_configuration_but_only_admins_change_it(api, bearer):
    _, agent = bearer(Role.AGENT)
    for path in ("/users", "/teams", "/stage-rules", "/routing-rules", "/service-targets"):
        assert api("GET", path, headers=agent)[0] == 200, path
    _, manager = bearer(Role.MANAGER)
    writes = [
        ("POST", "/users", {"email": "x@shop.test", "password": "quiet harbour lantern"}),
        ("POST", "/teams", {"name": "Sales"}),
        ("POST", "/stage-rules", {"name": "sales", "stage": "purchase"}),
        ("POST", "/routing-rules", {"name": "sms", "gives_priority": "high"}),
        (
            "PUT",
            "/service-targets/purchase",
            {"first_response_minutes": 60, "resolution_minutes": None},
        ),
    ]
    for method, path, body in writes:
        for headers in (agent, manager):
            status, answer = api(method, path, body, headers)
            assert (status, answer["error"]["code"]) == (403, "forbidden"), path
    # An admin's token with the write scope writes tickets and customers, not configuration.
    _, admin_writes = bearer(Role.ADMIN, scope="write")
    for method, path, body in writes:
        status, answer = api(method, path, body, admin_writes)
        assert (status, answer["error"]["code"]) == (403, "insufficient-scope"), path
        assert "admin scope" in answer["error"]["message"]
    _, agent_writes = bearer(Role.AGENT, scope="write")
    assert api("POST", "/teams", {"name": "Sales"}, agent_writes)[1]["error"]["code"] == (
        "insufficient-scope"
    )


# --- teams -------------------------------------------------------------------------------------


def test_teams_round_trip_with_the_admin_pages_rules(api, bearer):
    ann, _ = bearer(Role.AGENT)
    bob, _ = bearer(Role.AGENT)
    status, team = api(
        "POST",
        "/teams",
        {"name": "  Returns  desk ", "assignment": "round_robin", "capacity": 5, "members": [ann]},
    )
    assert status == 201, team
    assert (team["name"], team["assignment"], team["capacity"]) == (
        "Returns desk",
        "round_robin",
        5,
    )
    assert [member["id"] for member in team["members"]] == [ann]
    assert api("GET", f"/teams/{team['id']}") == (200, team)

    status, changed = api(
        "PATCH",
        f"/teams/{team['id']}",
        {"capacity": 3, "members": [bob], "return_unanswered_when_away": True},
    )
    assert status == 200, changed
    assert (changed["name"], changed["capacity"], changed["return_unanswered_when_away"]) == (
        "Returns desk",
        3,
        True,
    )
    assert [member["id"] for member in changed["members"]] == [bob]
    assert api("GET", f"/users/{ann}")[1]["team_ids"] == []
    assert api("GET", f"/users/{bob}")[1]["team_ids"] == [team["id"]]
    assert api("GET", "/teams")[1]["items"] == [changed]

    for body, fields in [
        ({"name": "RETURNS DESK"}, ["name"]),
        ({"name": " "}, ["name"]),
        ({"name": "Other", "capacity": 0}, ["capacity"]),
        ({"name": "Other", "assignment": "random"}, ["assignment"]),
        ({"name": "Other", "members": [424242]}, ["members"]),
    ]:
        status, answer = api("POST", "/teams", body)
        assert status == 400 and fields_at_fault(answer) == fields, body
    api("PATCH", f"/users/{ann}", {"active": False})
    status, answer = api("PATCH", f"/teams/{team['id']}", {"members": [ann], "capacity": 9})
    assert status == 400 and fields_at_fault(answer) == ["members"]
    assert api("GET", f"/teams/{team['id']}")[1]["capacity"] == 3
    assert api("DELETE", f"/teams/{team['id']}")[0] == 405


# --- stage rules and endpoints -----------------------------------------------------------------


def test_a_stage_rule_made_over_the_api_decides_intake(api, open_ticket, setup):
    status, rule = api(
        "POST",
        "/stage-rules",
        {
            "name": "sales alias",
            "stage": "purchase",
            "conditions": {"recipient": "sales@shop.test"},
        },
    )
    assert status == 201, rule
    assert (rule["position"], rule["enabled"], rule["decided"]) == (1, True, 0)
    assert rule["conditions"]["recipient"] == "sales@shop.test"
    assert rule["conditions"]["channel"] is None

    first = open_ticket(recipient="sales@shop.test", sender="ann@customer.test")
    with setup():
        ticket = db.session.get(Ticket, first)
        assert (ticket.stage, ticket.intake_rule, ticket.stage_source) == (
            "purchase",
            "sales alias",
            StageSource.RULE,
        )
    assert api("GET", f"/stage-rules/{rule['id']}")[1]["decided"] == 1

    status, changed = api(
        "PATCH",
        f"/stage-rules/{rule['id']}",
        {"stage": "use", "conditions": {"channel": "email", "keyword": "warranty"}},
    )
    assert status == 200, changed
    assert (changed["stage"], changed["conditions"]["keyword"]) == ("use", "warranty")
    assert changed["conditions"]["recipient"] is None
    second = open_ticket(sender="bob@customer.test", text="Is the warranty still on?")
    with setup():
        assert db.session.get(Ticket, second).stage == "use"
        audit = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "stage_rule.changed")
        ).one()
        assert (audit.before["stage"], audit.after["stage"]) == ("purchase", "use")
        assert audit.after["recipient"] is None

    assert api("PATCH", f"/stage-rules/{rule['id']}", {"enabled": False})[1]["enabled"] is False
    third = open_ticket(sender="cid@customer.test", text="Warranty question")
    with setup():
        assert db.session.get(Ticket, third).stage == "unknown"

    assert api("DELETE", f"/stage-rules/{rule['id']}") == (204, None)
    assert api("GET", "/stage-rules")[1]["items"] == []
    assert api("GET", f"/stage-rules/{rule['id']}")[0] == 404


def test_stage_rules_keep_their_order_and_refuse_bad_conditions_by_name(api):
    made = [
        api("POST", "/stage-rules", {"name": name, "stage": "discovery"})[1]["id"]
        for name in ("one", "two", "three")
    ]
    assert api("PATCH", f"/stage-rules/{made[2]}", {"position": 1})[1]["position"] == 1
    listed = api("GET", "/stage-rules")[1]["items"]
    assert [(r["name"], r["position"]) for r in listed] == [("three", 1), ("one", 2), ("two", 3)]
    slotted = api("POST", "/stage-rules", {"name": "four", "stage": "use", "position": 2})[1]
    assert slotted["position"] == 2
    assert api("PATCH", f"/stage-rules/{made[0]}", {"position": 99})[1]["position"] == 4

    for body, fields in [
        ({"name": "one", "stage": "use"}, ["name"]),
        ({"name": "x", "stage": "unknown"}, ["stage"]),
        ({"name": "x", "stage": "nowhere"}, ["stage"]),
        (
            {"name": "x", "stage": "use", "conditions": {"first_word": "two words"}},
            ["conditions.first_word"],
        ),
        ({"name": "x", "stage": "use", "conditions": {"channel": "fax"}}, ["conditions.channel"]),
        ({"name": "x", "stage": "use", "conditions": {"colour": "red"}}, ["conditions.colour"]),
        (
            {"name": "x", "stage": "use", "conditions": {"keyword": "k" * 121}},
            ["conditions.keyword"],
        ),
    ]:
        status, answer = api("POST", "/stage-rules", body)
        assert status == 400 and fields_at_fault(answer) == fields, body
    assert len(api("GET", "/stage-rules")[1]["items"]) == 4


def test_an_endpoints_default_stage_set_over_the_api_applies_when_no_rule_matches(
    api, open_ticket, setup
):
    open_ticket("sms", text="hello")
    (endpoint,) = api("GET", "/endpoints")[1]["items"]
    assert (endpoint["channel"], endpoint["default_stage"]) == ("sms", None)
    path = f"/endpoints/{endpoint['id']}/default-stage"
    status, changed = api("PUT", path, {"stage": "use"})
    assert status == 200 and changed["default_stage"] == "use"
    later = open_ticket("sms", sender="+15550002999", text="the app crashes")
    with setup():
        ticket = db.session.get(Ticket, later)
        assert (ticket.stage, ticket.stage_source) == ("use", StageSource.ENDPOINT_DEFAULT)
    assert api("PUT", path, {"stage": "unknown"})[1]["default_stage"] is None
    assert fields_at_fault(api("PUT", path, {"stage": "later"})[1]) == ["stage"]
    assert api("PUT", "/endpoints/424242/default-stage", {"stage": "use"})[0] == 404


# --- routing rules -----------------------------------------------------------------------------


def test_a_routing_rule_made_over_the_api_routes_new_tickets(api, open_ticket, setup):
    team = api("POST", "/teams", {"name": "Texts"})[1]
    status, rule = api(
        "POST",
        "/routing-rules",
        {"name": "texts", "conditions": {"channel": "sms"}, "team": team["id"]},
    )
    assert status == 201, rule
    assert (rule["position"], rule["active"], rule["team"], rule["gives_priority"]) == (
        1,
        True,
        {"id": team["id"], "name": "Texts"},
        None,
    )
    first = open_ticket("sms", text="hi")
    with setup():
        ticket = db.session.get(Ticket, first)
        assert (ticket.team_id, ticket.routing_rule, ticket.priority) == (
            team["id"],
            "texts",
            "normal",
        )
    assert api("GET", f"/routing-rules/{rule['id']}")[1]["routed"] == 1

    status, changed = api(
        "PATCH", f"/routing-rules/{rule['id']}", {"team": None, "gives_priority": "urgent"}
    )
    assert status == 200 and (changed["team"], changed["gives_priority"]) == (None, "urgent")
    assert changed["conditions"]["channel"] == "sms"
    second = open_ticket("sms", sender="+15550002777", text="again")
    with setup():
        ticket = db.session.get(Ticket, second)
        assert (ticket.team_id, ticket.priority) == (None, "urgent")

    for body, fields in [
        ({"team": None, "gives_priority": None}, ["team"]),
        ({"gives_priority": "asap"}, ["gives_priority"]),
        ({"team": 424242}, ["team"]),
        ({"conditions": {"stage": "later"}}, ["conditions.stage"]),
        ({"conditions": {"subject_words": " , "}}, ["conditions.subject_words"]),
    ]:
        status, answer = api("PATCH", f"/routing-rules/{rule['id']}", body)
        assert status == 400 and fields_at_fault(answer) == fields, body
    status, answer = api("POST", "/routing-rules", {"name": "texts", "gives_priority": "low"})
    assert status == 400 and fields_at_fault(answer) == ["name"]

    assert api("PATCH", f"/routing-rules/{rule['id']}", {"active": False})[1]["active"] is False
    assert api("DELETE", f"/routing-rules/{rule['id']}") == (204, None)
    assert api("GET", "/routing-rules")[1]["items"] == []


# --- service targets ---------------------------------------------------------------------------


def test_service_targets_set_over_the_api_give_new_tickets_deadlines(api, open_ticket, setup):
    status, listed = api("GET", "/service-targets")
    assert status == 200
    assert [t["stage"] for t in listed["items"]][:2] == ["awareness", "discovery"]
    assert all(t["first_response_minutes"] is None for t in listed["items"])
    assert (listed["business_hours"], listed["timezone"]) == (None, "UTC")

    body = {"first_response_minutes": 60, "resolution_minutes": 24 * 60}
    status, target = api("PUT", "/service-targets/unknown", body)
    assert status == 200 and target == {"stage": "unknown", **body}
    assert target in api("GET", "/service-targets")[1]["items"]
    ticket_id = open_ticket(text="no rule decides this")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.first_response_due_at - ticket.created_at).total_seconds() == 3600

    cleared = {"first_response_minutes": None, "resolution_minutes": 24 * 60}
    assert api("PUT", "/service-targets/unknown", cleared) == (200, {"stage": "unknown", **cleared})
    with setup():
        audit = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "sla_target.changed")
        ).one()
        assert (audit.before, audit.after) == (
            {"first_response_minutes": 60},
            {"first_response_minutes": None},
        )

    for sent, fields in [
        ({"first_response_minutes": 0, "resolution_minutes": None}, ["first_response_minutes"]),
        ({"first_response_minutes": "1h", "resolution_minutes": None}, ["first_response_minutes"]),
        ({"first_response_minutes": 60}, ["resolution_minutes"]),
    ]:
        status, answer = api("PUT", "/service-targets/purchase", sent)
        assert status == 400 and fields_at_fault(answer) == fields, sent
    status, answer = api("PUT", "/service-targets/later", body)
    assert (status, answer["error"]["code"]) == (404, "not_found")


def test_a_users_online_flag_follows_presence(api, make_user, setup):
    with setup():
        present = make_user(available=True).id
        away = make_user(available=False).id
    shown = {u["id"]: u for u in api("GET", "/users")[1]["items"]}
    assert (shown[present]["online"], shown[away]["online"]) == (True, False)
    assert (shown[present]["available"], shown[away]["available"]) == (True, False)
