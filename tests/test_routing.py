"""Routing: ordered rules give each new ticket a team and a priority, and say why."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import select

from helpdesk import teams
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Priority, Role, RoutingRule, Team, Ticket, TicketEvent, User
from helpdesk.tickets import routing_rules, service, stage_rules
from helpdesk.tickets.routing import ordered_rules
from helpdesk.tickets.routing_rules import InvalidRule, sample_facts, try_sample


def names() -> list[str]:
    return [rule.name for rule in ordered_rules()]


def routed(facts_or_ticket) -> tuple[str | None, str | None, Priority]:
    """Which rule routes a sample, to which team, with which priority."""
    routing = try_sample(facts_or_ticket).routing
    return (
        routing.rule.name if routing.rule else None,
        routing.team.name if routing.team else None,
        routing.priority,
    )


def events(ticket: Ticket, kind: str) -> list[tuple[str | None, str | None, int | None]]:
    rows = db.session.scalars(
        select(TicketEvent)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == kind)
        .order_by(TicketEvent.id)
    )
    return [(event.from_value, event.to_value, event.actor_id) for event in rows]


@pytest.fixture
def team(ctx) -> Callable[[str], Team]:
    """``team("Billing")``: the team of that name, made on first use."""

    def build(name: str) -> Team:
        return teams.team_by_name(name) or teams.create_team(name)

    return build


# --- the engine -------------------------------------------------------------------------------


def test_the_first_active_rule_that_matches_routes(ctx, team):
    routing_rules.add_rule("sms", {"channel": "sms"}, team=team("Mobile"))
    routing_rules.add_rule(
        "purchases", {"stage": "purchase"}, team=team("Billing"), priority="high"
    )
    sample = sample_facts("sms", stage="purchase")
    assert routed(sample) == ("sms", "Mobile", Priority.NORMAL)
    routing_rules.move_rule(routing_rules.rule_named("purchases"), -1)
    assert names() == ["purchases", "sms"]
    assert routed(sample) == ("purchases", "Billing", Priority.HIGH)
    routing_rules.set_active(routing_rules.rule_named("purchases"), False)
    trial = try_sample(sample)
    assert [(step.rule.name, step.summary) for step in trial.steps] == [
        ("purchases", "skipped: switched off"),
        ("sms", "matched"),
    ]
    assert routed(sample_facts("email", stage="use")) == (None, None, Priority.NORMAL)


@pytest.mark.parametrize(
    ("conditions", "matching", "other"),
    [
        ({"channel": "chat"}, {"channel": "chat"}, {"channel": "email"}),
        (
            {"channel": "sms", "endpoint": "+1 555 000 1000"},
            {"channel": "sms", "endpoint": "+15550001000"},
            {"channel": "sms", "endpoint": "+15550001001"},
        ),
        (
            {"endpoint": "Sales@Shop.test"},
            {"channel": "email", "endpoint": "sales@shop.test"},
            {"channel": "email", "endpoint": "help@shop.test"},
        ),
        (
            {"intake_stage": "purchase"},
            {"channel": "email", "stage": "use", "intake_stage": "purchase"},
            {"channel": "email", "stage": "purchase", "intake_stage": "use"},
        ),
        (
            {"stage": "purchase"},
            {"channel": "email", "stage": "purchase", "intake_stage": "use"},
            {"channel": "email", "stage": "use", "intake_stage": "purchase"},
        ),
        ({"tag": "VIP"}, {"channel": "email", "tags": "late, vip"}, {"channel": "email"}),
        ({"priority": "urgent"}, {"channel": "email", "priority": "urgent"}, {"channel": "email"}),
        (
            {"subject_words": "refund, money back"},
            {"channel": "email", "subject": "I want my MONEY BACK now"},
            {"channel": "email", "subject": "refunded? moneyback?"},
        ),
    ],
)
def test_each_kind_of_condition(ctx, team, conditions, matching, other):
    routing_rules.add_rule("the rule", conditions, team=team("Billing"))
    assert routed(sample_facts(**matching)) == ("the rule", "Billing", Priority.NORMAL)
    assert routed(sample_facts(**other)) == (None, None, Priority.NORMAL)


def test_every_condition_of_a_rule_must_hold_and_the_reason_names_them(ctx, team):
    routing_rules.add_rule(
        "Orders by SMS",
        {"stage": "purchase", "channel": "sms"},
        team=team("Billing"),
        priority="high",
    )
    trial = try_sample(sample_facts("sms", stage="purchase"))
    assert trial.routing.reason == "stage purchase and channel sms → Billing, high"
    missed = try_sample(sample_facts("email", stage="purchase"))
    assert missed.routing.rule is None
    assert missed.steps[0].summary == "no match: needs channel sms"


def test_a_rule_needs_a_name_and_an_action_and_sensible_conditions(ctx, team):
    routing_rules.add_rule("sms", {"channel": "sms"}, priority="low")
    refusals = {
        ("name", "already exists"): ("sms", {}, team("A"), None),
        ("name", "needs a name"): ("  ", {}, team("A"), None),
        ("team", "sets a team, a priority or both"): ("x", {"channel": "sms"}, None, None),
        ("channel", "none of email, sms, chat"): ("x", {"channel": "fax"}, team("A"), None),
        ("stage", "none of"): ("x", {"stage": "buying"}, team("A"), None),
        ("endpoint", "not an email address"): (
            "x",
            {"channel": "email", "endpoint": "nope"},
            None,
            "high",
        ),
        ("tag", "is no tag"): ("x", {"tag": "a/b"}, team("A"), None),
        ("subject_words", "separated by commas"): ("x", {"subject_words": " , ,"}, team("A"), None),
        ("gives_priority", "none of"): ("x", {}, None, "whenever"),
    }
    for (field, message), (name, conditions, to_team, priority) in refusals.items():
        with pytest.raises(InvalidRule, match=message) as refused:
            routing_rules.add_rule(name, conditions, team=to_team, priority=priority)
        assert refused.value.field == field
    assert names() == ["sms"]


# --- at intake --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "fields", "rule"),
    [
        (
            "email",
            {"endpoint": "sales@shop.test"},
            {"channel": "email", "endpoint": "Sales@shop.test"},
        ),
        ("sms", {"text": "ORDER 12 never came"}, {"channel": "sms", "endpoint": "+15550001000"}),
        (
            "chat",
            {"page_url": "https://shop.test/checkout"},
            {"channel": "chat", "endpoint": "shop.test"},
        ),
    ],
)
def test_every_new_ticket_is_routed_at_intake(ctx, team, inbound, channel, fields, rule):
    stage_rules.add_rule("buying", "purchase", {"channel": channel})
    routing_rules.add_rule("elsewhere", {"stage": "use"}, team=team("Support"))
    routing_rules.add_rule(
        "Orders", {"stage": "purchase", **rule}, team=team("Billing"), priority="high"
    )
    ticket = service.receive(inbound(channel, **fields)).ticket
    db.session.commit()
    assert (ticket.team.name, ticket.priority, ticket.routing_rule) == (
        "Billing",
        Priority.HIGH,
        "Orders",
    )
    assert ticket.routing_reason == (
        f"stage purchase and channel {channel} and arrived at {ticket.endpoint.address}"
        " → Billing, high"
    )
    assert not ticket.team_set_by_hand and not ticket.priority_set_by_hand
    assert events(ticket, "team") == [(None, "Billing", None)]
    assert events(ticket, "priority") == [("normal", "high", None)]


def test_a_ticket_no_rule_matches_has_no_team_and_normal_priority(ctx, team, inbound):
    routing_rules.add_rule("sms", {"channel": "sms"}, team=team("Mobile"), priority="urgent")
    ticket = service.receive(inbound("email")).ticket
    assert (ticket.team, ticket.priority, ticket.routing_rule, ticket.routing_reason) == (
        None,
        Priority.NORMAL,
        None,
        None,
    )
    assert events(ticket, "team") == [] and events(ticket, "priority") == []


def test_an_intake_batch_routes_each_new_ticket(ctx, team, inbound):
    routing_rules.add_rule("sms", {"channel": "sms"}, team=team("Mobile"))
    messages = [inbound("sms", sender=f"+1555000200{n}") for n in range(3)]
    with service.intake_batch(messages):
        tickets = [service.receive(msg).ticket for msg in messages]
    db.session.flush()
    assert [ticket.team.name for ticket in tickets] == ["Mobile"] * 3


# --- re-runs on a stage correction ------------------------------------------------------------


@pytest.fixture
def billing_ticket(ctx, team, inbound, make_user) -> Ticket:
    """An SMS ticket routed to Billing (high) by its purchase stage; Support takes use."""
    stage_rules.add_rule("orders", "purchase", {"first_word": "ORDER"})
    routing_rules.add_rule("Orders", {"stage": "purchase"}, team=team("Billing"), priority="high")
    routing_rules.add_rule("Use", {"stage": "use"}, team=team("Support"))
    ticket = service.receive(inbound("sms", text="order 7 is broken")).ticket
    assert (ticket.team.name, ticket.priority) == ("Billing", Priority.HIGH)
    return ticket


def test_a_stage_correction_routes_again(billing_ticket, make_user):
    agent = make_user()
    service.set_stage(billing_ticket, agent, "use")
    assert (billing_ticket.team.name, billing_ticket.priority) == ("Support", Priority.NORMAL)
    assert billing_ticket.routing_rule == "Use"
    assert billing_ticket.routing_reason == "stage use → Support"
    assert events(billing_ticket, "team")[-1] == ("Billing", "Support", None)
    assert not billing_ticket.team_set_by_hand
    service.set_stage(billing_ticket, agent, "advocacy")  # no rule: no team, normal priority
    assert (billing_ticket.team, billing_ticket.routing_rule) == (None, None)


def test_a_re_run_leaves_what_a_person_set_by_hand(billing_ticket, make_user, team):
    agent = make_user()
    service.set_priority(billing_ticket, agent, "urgent")
    service.set_stage(billing_ticket, agent, "use")
    assert (billing_ticket.team.name, billing_ticket.priority) == ("Support", Priority.URGENT)
    service.set_team(billing_ticket, agent, team("Escalations"))
    service.set_stage(billing_ticket, agent, "purchase")
    assert (billing_ticket.team.name, billing_ticket.priority) == ("Escalations", Priority.URGENT)
    assert billing_ticket.routing_rule == "Use"  # nothing left for routing to change


def test_a_re_run_sees_the_priority_and_tags_people_gave(billing_ticket, make_user, team):
    agent = make_user()
    routing_rules.add_rule("vip", {"tag": "vip", "stage": "use"}, team=team("VIP"))
    routing_rules.move_rule(routing_rules.rule_named("vip"), -5)
    routing_rules.add_rule("urgent", {"priority": "urgent"}, team=team("Escalations"))
    service.add_tag(billing_ticket, agent, "VIP")
    service.set_stage(billing_ticket, agent, "use")
    assert billing_ticket.team.name == "VIP"
    assert billing_ticket.routing_reason == "stage use and tag vip → VIP"
    service.set_priority(billing_ticket, agent, "urgent")
    service.remove_tag(billing_ticket, agent, "vip")
    service.set_stage(billing_ticket, agent, "awareness")
    assert (billing_ticket.team.name, billing_ticket.routing_rule) == ("Escalations", "urgent")


def test_a_team_routed_again_drops_an_assignee_outside_it(billing_ticket, make_user):
    agent = make_user()
    teams.set_members(billing_ticket.team, [agent])
    service.assign(billing_ticket, agent, agent)
    service.set_stage(billing_ticket, agent, "use")
    assert billing_ticket.team.name == "Support" and billing_ticket.assignee is None


# --- the admin pages --------------------------------------------------------------------------


def rule_form(**fields: str) -> dict[str, str]:
    """The rule form as a browser posts it: every field, empty unless given."""
    return {name: "" for name in (*RoutingRule.CONDITIONS, "team", "gives_priority")} | fields


def audit_actions(app, rule_id: int) -> list[tuple[str, int | None]]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "routing_rule", AuditEvent.target_id == str(rule_id))
            .order_by(AuditEvent.id)
        )
        return [(row.action, row.actor_id) for row in rows]


def test_an_admin_adds_edits_reorders_switches_off_and_deletes_rules(client, login, app, setup):
    admin = login(Role.ADMIN)
    with setup():
        billing = teams.create_team("Billing").id
    added = client.post(
        "/admin/routing/new",
        data=rule_form(name="Orders by SMS", channel="sms", stage="purchase", team=str(billing)),
        follow_redirects=True,
    )
    assert "Routing rule “Orders by SMS” added" in added.text
    client.post(
        "/admin/routing/new",
        data=rule_form(name="Urgent words", subject_words="urgent, asap", gives_priority="urgent"),
    )
    no_action = client.post("/admin/routing/new", data=rule_form(name="Nothing", channel="sms"))
    assert no_action.status_code == 400
    assert 'id="team-error">a rule sets a team, a priority or both' in no_action.text
    twice = client.post(
        "/admin/routing/new", data=rule_form(name="Orders by SMS", gives_priority="low")
    )
    assert 'id="name-error">a routing rule named Orders by SMS already exists' in twice.text
    with app.app_context():
        orders, urgent = ordered_rules()
        orders_id, urgent_id = orders.id, urgent.id

    form = client.get(f"/admin/routing/{orders_id}")
    assert '<option selected value="purchase">' in form.text
    assert f'<option selected value="{billing}">Billing' in form.text
    bad = client.post(
        f"/admin/routing/{orders_id}",
        data=rule_form(channel="email", endpoint="not an address", team=str(billing)),
    )
    assert bad.status_code == 400 and 'id="endpoint-error">' in bad.text
    client.post(
        f"/admin/routing/{orders_id}",
        data=rule_form(
            channel="sms", endpoint="+1 555 000 1000", team=str(billing), gives_priority="high"
        ),
    )
    client.post(f"/admin/routing/{urgent_id}/move", data={"direction": "up"})
    client.post(f"/admin/routing/{orders_id}/active", data={"active": "0"})
    with app.app_context():
        assert names() == ["Urgent words", "Orders by SMS"]
        orders = db.session.get(RoutingRule, orders_id)
        assert not orders.active and orders.gives_priority == Priority.HIGH
        assert orders.conditions() == {"channel": "sms", "endpoint": "+15550001000"}
    page = client.get("/admin/routing")
    assert page.text.index("Urgent words") < page.text.index(">Orders by SMS<")
    assert "Switch Orders by SMS on" in page.text
    deleted = client.post(f"/admin/routing/{urgent_id}/delete", follow_redirects=True)
    assert "Routing rule “Urgent words” deleted" in deleted.text
    with app.app_context():
        assert names() == ["Orders by SMS"]
    assert audit_actions(app, orders_id) == [
        ("routing_rule.created", admin),
        ("routing_rule.changed", admin),  # conditions and priority
        ("routing_rule.changed", admin),  # moved down
        ("routing_rule.changed", admin),  # switched off
    ]
    assert audit_actions(app, urgent_id)[-1] == ("routing_rule.deleted", admin)


def test_the_page_counts_what_each_rule_routed(client, login, setup, inbound, app):
    login(Role.ADMIN)
    with setup():
        routing_rules.add_rule("sms", {"channel": "sms"}, team=teams.create_team("Mobile"))
        routing_rules.add_rule("email", {"channel": "email"}, priority="low")
    for n in range(3):
        with setup():
            service.receive(inbound("sms", sender=f"+1555000300{n}"))
    with setup():
        old = service.receive(inbound("sms", sender="+15550003009")).ticket
        old.created_at = old.created_at.replace(year=old.created_at.year - 1)
    page = client.get("/admin/routing")
    row = page.text[page.text.index('<td data-label="Rule" class="rule-name"><a') :]
    assert re.search(
        r'data-label="Routed" class="num-cell">4<.*?data-label="Last 30 days" class="num-cell">3<',
        row,
        re.S,
    )
    assert 'data-label="Routed" class="num-cell">0<' in row  # the email rule: nothing yet


def test_try_it_shows_the_rule_what_it_sets_and_why(client, login, setup):
    login(Role.ADMIN)
    with setup():
        billing = teams.create_team("Billing")
        routing_rules.add_rule("Web", {"channel": "chat"}, team=teams.create_team("Web"))
        routing_rules.add_rule(
            "Orders by SMS", {"channel": "sms", "stage": "purchase"}, team=billing, priority="high"
        )
    page = client.get(
        "/admin/routing",
        query_string={
            "channel": "sms",
            "endpoint": "+15550001000",
            "stage": "purchase",
            "priority": "normal",
        },
    )
    assert page.status_code == 200, page.text
    assert "Rule “Orders by SMS” sends it to" in page.text
    assert "because</span> stage purchase and channel sms → Billing, high" in page.text
    assert "<strong>Web</strong> — no match: needs channel chat" in page.text
    nothing = client.get("/admin/routing", query_string={"channel": "email", "stage": "use"})
    assert "No rule matches: no team, normal priority." in nothing.text
    bad = client.get(
        "/admin/routing", query_string={"channel": "email", "endpoint": "nope", "tags": "a/b"}
    )
    assert bad.status_code == 400 and 'id="endpoint-error">' in bad.text


def test_agents_may_not_keep_routing_rules(client, login):
    login(Role.AGENT)
    assert client.get("/admin/routing").status_code == 403
    assert (
        client.post(
            "/admin/routing/new", data=rule_form(name="x", gives_priority="low")
        ).status_code
        == 403
    )


def test_the_ticket_page_says_which_rule_routed_it_and_why(client, login, setup, open_ticket):
    agent = login(Role.AGENT)
    with setup():
        routing_rules.add_rule(
            "Orders by SMS", {"channel": "sms"}, team=teams.create_team("Billing"), priority="high"
        )
    ticket_id = open_ticket("sms")
    page = client.get(f"/tickets/{ticket_id}")
    assert "Routed to Billing by rule “Orders by SMS”: channel sms → Billing, high" in page.text
    with setup():
        service.set_priority(db.session.get(Ticket, ticket_id), db.session.get(User, agent), "low")
    assert "(priority since set by hand)" in client.get(f"/tickets/{ticket_id}").text


# --- the command line -------------------------------------------------------------------------


def test_routing_rules_can_be_added_listed_and_removed_from_the_cli(ctx, runner):
    teams.create_team("Billing")
    db.session.commit()
    add = runner.invoke(
        args=[
            *("routing", "add", "Orders", "--team", "billing", "--priority", "high"),
            *("--channel", "sms", "--stage", "purchase", "--subject", "order, refund"),
        ]
    )
    assert add.exit_code == 0, add.output
    assert "-> Billing, high" in add.output
    unknown_team = runner.invoke(args=["routing", "add", "X", "--team", "Nobody"])
    assert unknown_team.exit_code != 0 and "no team called Nobody" in unknown_team.output
    no_action = runner.invoke(args=["routing", "add", "X", "--channel", "sms"])
    assert "a rule sets a team, a priority or both" in no_action.output
    listing = runner.invoke(args=["routing", "list"])
    assert "stage=purchase channel=sms subject_words=order, refund" in listing.output
    assert "[routed 0, 0 in 30 days]" in listing.output
    assert runner.invoke(args=["routing", "remove", "Orders"]).exit_code == 0
    assert runner.invoke(args=["routing", "remove", "Orders"]).exit_code != 0
    assert ordered_rules() == []
