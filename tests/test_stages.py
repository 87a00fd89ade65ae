"""The one stage engine: choice, then ordered rules, then the endpoint default, then unknown."""

from channels.base import Utm
from helpdesk.extensions import db
from helpdesk.models import Stage, StageRule, StageSource
from helpdesk.tickets import endpoints, service


def rule(name: str, stage: str, position: int, **conditions) -> StageRule:
    created = StageRule(name=name, stage=Stage(stage), position=position, **conditions)
    db.session.add(created)
    db.session.flush()
    return created


def intake(inbound, *args, **fields):
    return service.receive(inbound(*args, **fields)).ticket


def test_nothing_configured_means_unknown(ctx, inbound):
    ticket = intake(inbound)
    assert (ticket.stage, ticket.stage_source, ticket.stage_reason) == (
        Stage.UNKNOWN,
        StageSource.NONE,
        "no rule matched",
    )


def test_an_alias_rule_records_rule_and_reason(ctx, inbound):
    rule("sales alias", "purchase", 10, recipient="sales@shop.test")
    ticket = intake(inbound, recipient="Sales@Shop.test")
    assert ticket.stage == ticket.intake_stage == Stage.PURCHASE
    assert ticket.intake_rule == "sales alias"
    assert ticket.stage_source == StageSource.RULE
    assert ticket.stage_reason == "sent to Sales@Shop.test"


def test_first_matching_rule_wins_in_position_order(ctx, inbound):
    rule("later", "use", 20, keyword="invoice")
    rule("earlier", "purchase", 10, keyword="invoice")
    assert intake(inbound, text="Where is my invoice?").intake_rule == "earlier"


def test_every_condition_of_a_rule_must_hold(ctx, inbound):
    rule("order texts", "purchase", 10, channel="sms", first_word="order")
    assert intake(inbound, text="order 55 is late").stage == Stage.UNKNOWN  # email, not sms
    ticket = intake(inbound, "sms", text="ORDER 55 is late")
    assert (ticket.stage, ticket.stage_reason) == (Stage.PURCHASE, "first word ORDER")


def test_disabled_rules_are_skipped(ctx, inbound):
    rule("off", "advocacy", 10, keyword="review", enabled=False)
    assert intake(inbound, text="I left a review").stage == Stage.UNKNOWN


def test_keywords_match_whole_words_in_subject_or_text(ctx, inbound):
    rule("refund", "use", 10, keyword="refund")
    assert intake(inbound, subject="Refund please", text="hi").stage == Stage.USE
    assert intake(inbound, subject="hi", text="refunded already?").stage == Stage.UNKNOWN


def test_chat_page_and_utm_rules(ctx, inbound):
    rule("pricing page", "attraction", 10, channel="chat", url_pattern="/pricing*")
    rule("newsletter", "cultivation", 20, utm_source="newsletter", utm_medium="email")
    pricing = intake(inbound, "chat", page_url="https://shop.test/pricing/teams?x=1")
    assert (pricing.stage, pricing.stage_reason) == (
        Stage.ATTRACTION,
        "chat opened on /pricing/teams",
    )
    news = intake(
        inbound,
        "chat",
        conversation_id="c9",
        page_url="https://shop.test/",
        utm=Utm(source="Newsletter", medium="email"),
    )
    assert (news.stage, news.stage_reason) == (
        Stage.CULTIVATION,
        "utm_source=newsletter, utm_medium=email",
    )


def test_the_customers_own_choice_beats_every_rule(ctx, inbound):
    rule("pricing page", "attraction", 10, url_pattern="/pricing*")
    ticket = intake(inbound, "chat", page_url="https://shop.test/pricing", chosen_stage="use")
    assert (ticket.stage, ticket.stage_source) == (Stage.USE, StageSource.CUSTOMER)
    assert ticket.intake_rule is None


def test_an_unknown_choice_is_ignored(ctx, inbound):
    assert intake(inbound, "chat", chosen_stage="bogus").stage == Stage.UNKNOWN


def test_the_endpoint_default_applies_when_no_rule_matches(ctx, inbound):
    endpoint = endpoints.endpoint_for(inbound().channel, "support@shop.test")
    endpoint.default_stage = Stage.USE
    endpoint.name = "Support mailbox"
    ticket = intake(inbound)
    assert (ticket.stage, ticket.stage_source, ticket.stage_reason) == (
        Stage.USE,
        StageSource.ENDPOINT_DEFAULT,
        "default stage of Support mailbox",
    )


def test_a_follow_up_ticket_is_inferred_afresh(ctx, inbound, make_user):
    ticket = intake(inbound)
    service.set_status(ticket, make_user(), "closed")
    rule("any mention of reviews", "advocacy", 10, keyword="review")
    follow_up = intake(inbound, subject=f"Re: [#{ticket.number}]", text="I wrote a review")
    assert follow_up.previous_ticket_id == ticket.id
    assert follow_up.stage == Stage.ADVOCACY
