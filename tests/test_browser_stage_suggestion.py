"""The stage model's suggestion on the ticket page, accepted in one click, in Chromium against a
live server."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect
from test_stage_model import INVOICE, labelled_tickets

from helpdesk.extensions import db
from helpdesk.models import Stage, StageSource, Ticket
from helpdesk.stage_model import store
from helpdesk.tickets import service

pytestmark = pytest.mark.once


def test_an_agent_accepts_the_suggested_stage(
    app, page, live_url, setup, make_user, inbound, monkeypatch
):
    monkeypatch.setitem(app.config, "HELPDESK_STAGE_MODEL_MIN_PER_STAGE", 5)
    with setup():
        agent = make_user(email="sam@helpdesk.test", name="Sam")
        labelled_tickets(inbound, db.session.merge(agent), per_stage=10)
        store.train_now()
        ticket_id = service.receive(inbound(**INVOICE)).ticket.id
    log_in(page, live_url, "sam@helpdesk.test")

    page.goto(f"{live_url}/tickets/{ticket_id}")
    suggestion = page.locator("form.stage-suggestion")
    expect(suggestion).to_contain_text("Suggested stage: Purchase")
    suggestion.get_by_role("button", name="Accept").click()

    expect(page.get_by_text("Stage set to purchase, as suggested.")).to_be_visible()
    expect(page.locator("form.stage-suggestion")).to_have_count(0)
    expect(page.locator(".stage-info")).to_contain_text("Sam accepted the suggestion")
    with setup():
        ticket = db.session.get(Ticket, ticket_id)
        assert (ticket.stage, ticket.stage_source) == (Stage.PURCHASE, StageSource.AGENT)
