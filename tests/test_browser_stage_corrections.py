"""The stage corrections report as a manager clicks it, in Chromium against a live server."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Role, Stage, Ticket
from helpdesk.tickets import service

pytestmark = pytest.mark.once


def test_a_manager_opens_a_correction_from_the_dashboard_and_sees_its_tickets(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        manager = make_user(role=Role.MANAGER, email="mo@helpdesk.test", name="Mo Manager")
    texts = [open_ticket("sms", sender=f"+1555000400{n}", text=f"ORDER {n}") for n in range(3)]
    with setup():
        for ticket_id in texts:
            ticket = db.session.get(Ticket, ticket_id)
            ticket.stage = ticket.intake_stage = Stage.PURCHASE
        corrected = db.session.get(Ticket, texts[0])
        service.set_stage(corrected, db.session.merge(manager), Stage.USE)
        number = corrected.number
    log_in(page, live_url, "mo@helpdesk.test")

    page.goto(f"{live_url}/reports/stages")
    page.get_by_role("link", name="Stage corrections").click()
    expect(page.get_by_role("heading", name="Stage corrections")).to_be_visible()
    page.locator('td[title^="Purchase → Use"] a').click()
    expect(page.get_by_role("heading", name="Stage corrections: 1 ticket")).to_be_visible()
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{number}")
    page.get_by_role("link", name="Back to the report").click()
    page.locator('td[title^="Purchase → Purchase"] a').click()
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
