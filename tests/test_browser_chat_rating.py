"""A chat customer rates the conversation with the widget's buttons, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from test_browser import chat_site, host_url  # noqa: F401  (fixtures: the customer's site)

from helpdesk.extensions import db
from helpdesk.models import FollowUpMode, Stage, Survey, SurveyKind, Ticket, TicketStatus
from helpdesk.tickets import service, survey_settings

# What a page does is the same on either database: browser tests run in the SQLite pass only.
pytestmark = pytest.mark.once


def the_ticket() -> Ticket:
    db.session.expire_all()
    return db.session.scalar(select(Ticket))


def test_the_widget_shows_rating_buttons_after_solve_and_a_click_answers(
    browser,
    live_url,
    host_url,  # noqa: F811  (the fixture imported above)
    chat_site,  # noqa: F811
    setup,
):
    with setup():  # the site's /pricing pages are attraction, which asks NPS
        kinds = {stage: None for stage in Stage} | {Stage.ATTRACTION: SurveyKind.NPS}
        survey_settings.save(kinds, FollowUpMode.FLAG, 30)
    port = live_url.rsplit(":", 1)[1]
    visitor = browser.new_context().new_page()
    visitor.goto(f"{host_url}/pricing?site={chat_site}&via={port}")
    visitor.get_by_role("button", name="Open chat").click()
    visitor.get_by_label("Name").fill("Rae")
    visitor.get_by_label("Email").fill("rae@customer.test")
    visitor.get_by_label("Message").fill("Which grinder for espresso?")
    visitor.get_by_role("button", name="Send").click()
    log = visitor.get_by_role("log")
    # Stored: the echo from the server replaces the pending bubble.
    expect(log.locator("li.mine:not(.pending)", has_text="Which grinder")).to_have_count(1)
    with setup():
        service.set_status(the_ticket(), None, TicketStatus.SOLVED)

    # The question arrives as a chat message with 0-10 buttons under it.
    expect(log).to_contain_text("How likely are you to recommend us")
    scale = visitor.get_by_role("group", name="Your rating")
    expect(scale.get_by_role("button")).to_have_count(11)
    scale.get_by_role("button", name="9", exact=True).click()
    expect(scale.get_by_role("button", name="9", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(log.locator("li.mine", has_text="9")).to_have_count(1)  # sent as the bare number
    visitor.get_by_label("Anything you'd like to add?").fill("Spot on advice")
    visitor.get_by_role("button", name="Send comment").click()
    expect(visitor.get_by_text("Thank you, we have your comment.")).to_be_visible()

    with setup():
        ticket = the_ticket()
        survey = db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
        assert (survey.kind, survey.score, survey.comment) == (SurveyKind.NPS, 9, "Spot on advice")
        assert survey.stage == Stage.ATTRACTION
        assert ticket.status == TicketStatus.SOLVED  # the rating reopened nothing
    visitor.screenshot(path="/tmp/surveys_chat_rating.png")
    visitor.context.close()
