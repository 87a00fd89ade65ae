"""Finding things in a browser: a ticket by number and by phone, a customer from the list."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Ticket

pytestmark = pytest.mark.once


def test_an_agent_finds_tickets_by_number_and_phone_then_a_customer(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    refund = open_ticket(sender="ann@example.com", sender_name="Ann Lee", subject="Refund please")
    open_ticket("sms", sender="+15550101234", text="Where is my parcel?")
    open_ticket(sender="bob@example.com", sender_name="Bob Stone", subject="Invoice")
    with setup():
        number = db.session.get(Ticket, refund).number
    log_in(page, live_url, "ada@helpdesk.test")
    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(3)

    search = page.get_by_label("Search")
    search.fill(f"#{number}")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(f"#{number} Refund please")

    search.fill("+1 (555) 010-1234")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Where is my parcel?")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Customers").click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()
    expect(rows).to_have_count(3)
    search = page.get_by_label("Search")
    search.fill("ann@example")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Refund please")
    page.get_by_role("link", name="Ann Lee").click()
    expect(page.get_by_role("heading", name="Ann Lee")).to_be_visible()
    identities = page.get_by_role("region", name="Identities")
    expect(identities.get_by_text("ann@example.com")).to_be_visible()

    page.go_back()
    search = page.get_by_label("Search")
    search.fill("555-010-1234")
    search.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("+15550101234")


def test_a_bad_filter_is_explained_on_the_page(page, live_url, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    log_in(page, live_url, "ada@helpdesk.test")
    page.goto(f"{live_url}/tickets?stage=bogus")
    expect(page.get_by_role("alert")).to_contain_text("not 'bogus'")
    expect(page.get_by_label("Search")).to_be_visible()
    expect(page.get_by_text("No tickets are listed until they are fixed")).to_be_visible()
