"""Keeping the stage rules: the service the CLI and the admin pages share, and those pages."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Endpoint, Role, Stage, StageRule, Ticket
from helpdesk.tickets import service, stage_rules
from helpdesk.tickets.errors import InvalidInput
from helpdesk.tickets.stages import ordered_rules


def names() -> list[str]:
    return [rule.name for rule in ordered_rules()]


def rule_form(**fields: str) -> dict[str, str]:
    """The rule form as a browser posts it: every field, empty unless given."""
    return {name: "" for name in StageRule.CONDITIONS} | fields


# --- the service ------------------------------------------------------------------------------


def test_rules_are_added_last_and_refuse_what_could_never_work(ctx):
    stage_rules.add_rule("orders", "purchase", {"channel": "sms", "first_word": "order"})
    stage_rules.add_rule("docs", "use", {"url_pattern": "/docs/*", "keyword": ""})
    assert names() == ["orders", "docs"]
    assert stage_rules.rule_named("docs").conditions() == {"url_pattern": "/docs/*"}
    refusals = {
        "a rule named orders already exists": ("orders", "use", {}),
        "a rule needs a name": ("  ", "use", {}),
        "first word must be a single word": ("x", "use", {"first_word": "ORDER NOW"}),
        "channel is one of": ("y", "use", {"channel": "fax"}),
        "a rule's stage is one of": ("z", "unknown", {}),
        "unknown rule condition": ("w", "use", {"colour": "red"}),
    }
    for message, (name, stage, conditions) in refusals.items():
        with pytest.raises(InvalidInput, match=message):
            stage_rules.add_rule(name, stage, conditions)
    assert names() == ["orders", "docs"]


def test_moving_a_rule_changes_which_one_decides(ctx, inbound):
    stage_rules.add_rule("any sms", "use", {"channel": "sms"})
    stage_rules.add_rule("orders", "purchase", {"first_word": "ORDER"})
    sample = inbound("sms", text="order 12 is late")
    assert stage_rules.try_sample(sample).decision.rule == "any sms"
    stage_rules.move_rule(stage_rules.rule_named("orders"), -1)
    assert names() == ["orders", "any sms"]
    trial = stage_rules.try_sample(sample)
    assert trial.decision.stage == Stage.PURCHASE
    assert [step.summary for step in trial.steps] == ["matched"]
    stage_rules.move_rule(stage_rules.rule_named("orders"), -5)  # already first: stays
    assert names() == ["orders", "any sms"]


def test_a_trial_says_why_each_rule_was_passed_over_and_stores_nothing(ctx, inbound):
    stage_rules.add_rule("sales", "purchase", {"channel": "email", "recipient": "sales@x.test"})
    stage_rules.add_rule("off", "use", {})
    stage_rules.set_enabled(stage_rules.rule_named("off"), False)
    trial = stage_rules.try_sample(
        stage_rules.sample_message("email", "help@brand-new.test", text="hello")
    )
    assert trial.decision.stage == Stage.UNKNOWN
    assert [(s.rule.name, s.summary) for s in trial.steps] == [
        ("sales", "no match: needs sent to sales@x.test"),
        ("off", "skipped: disabled"),
    ]
    assert db.session.scalars(select(Endpoint)).all() == []
    with pytest.raises(InvalidInput, match="not an email address"):
        stage_rules.try_sample(stage_rules.sample_message("email", "not-an-address"))


def test_usage_counts_decided_and_corrected_tickets_per_rule(ctx, inbound, make_user):
    stage_rules.add_rule("orders", "purchase", {"first_word": "ORDER"})
    agent = make_user()
    tickets = [
        db.session.get(
            Ticket,
            service.receive(inbound("sms", sender=f"+1555000300{n}", text="ORDER more")).ticket_id,
        )
        for n in range(3)
    ]
    service.receive(inbound("sms", sender="+15550003009", text="hi"))  # no rule decided it
    service.set_stage(tickets[0], agent, "use")
    service.set_stage(tickets[1], agent, "use")
    service.set_stage(tickets[1], agent, "purchase")  # changed back: still a correction
    assert stage_rules.rule_usage() == {"orders": stage_rules.RuleUsage(decided=3, corrected=2)}


# --- the admin pages --------------------------------------------------------------------------


def test_an_admin_adds_edits_reorders_and_disables_rules(client, login, app):
    login(Role.ADMIN)
    added = client.post(
        "/admin/stages/new",
        data={"name": "orders", "stage": "purchase", "channel": "sms", "first_word": "ORDER"},
        follow_redirects=True,
    )
    assert "Rule “orders” added" in added.text
    client.post("/admin/stages/new", data={"name": "catch-all", "stage": "use"})
    twice = client.post("/admin/stages/new", data={"name": "orders", "stage": "use"})
    assert twice.status_code == 400
    assert 'id="name-error">a rule named orders already exists' in twice.text
    with app.app_context():
        orders, catch_all = ordered_rules()
        orders_id, catch_all_id = orders.id, catch_all.id

    edited = client.post(
        f"/admin/stages/{orders_id}",
        data=rule_form(stage="use", channel="sms", first_word="two words"),
    )
    assert edited.status_code == 400 and "must be a single word" in edited.text
    client.post(f"/admin/stages/{orders_id}", data=rule_form(stage="use", keyword="order"))
    client.post(f"/admin/stages/{catch_all_id}/move", data={"direction": "up"})
    client.post(f"/admin/stages/{orders_id}/enabled", data={"enabled": "0"})
    with app.app_context():
        assert names() == ["catch-all", "orders"]
        orders = db.session.get(StageRule, orders_id)
        assert not orders.enabled
        assert orders.conditions() == {"keyword": "order"} and orders.stage == Stage.USE
    page = client.get("/admin/stages")
    assert page.text.index("catch-all") < page.text.index(">orders<")
    assert "Enable orders" in page.text


def test_the_try_box_shows_the_stage_and_the_reason(client, login, setup):
    login(Role.ADMIN)
    with setup():
        stage_rules.add_rule("orders", "purchase", {"first_word": "ORDER"})
    page = client.get(
        "/admin/stages",
        query_string={"channel": "sms", "endpoint": "+15550001000", "text": "order 7 is late"},
    )
    assert page.status_code == 200
    assert "because</span> first word ORDER" in page.text
    assert "<strong>orders</strong> — matched" in page.text
    empty = client.get("/admin/stages", query_string={"channel": "sms", "endpoint": ""})
    assert empty.status_code == 400 and 'id="endpoint-error"' in empty.text


def test_an_admin_sets_an_endpoint_default_stage(client, login, open_ticket, app):
    login(Role.ADMIN)
    ticket_id = open_ticket()
    with app.app_context():
        endpoint_id = db.session.get(Ticket, ticket_id).endpoint_id
    done = client.post(f"/admin/endpoints/{endpoint_id}/stage", data={"stage": "use"})
    assert done.status_code == 302
    assert (
        client.post(f"/admin/endpoints/{endpoint_id}/stage", data={"stage": "x"}).status_code == 400
    )
    with app.app_context():
        assert db.session.get(Endpoint, endpoint_id).default_stage == Stage.USE
    assert "Used when no rule matches" in client.get("/admin/stages").text
