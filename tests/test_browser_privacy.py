"""Erasing a customer as an admin clicks it on the customer page, in Chromium."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Role, Ticket

pytestmark = pytest.mark.once


def test_an_admin_reads_what_goes_confirms_with_the_name_and_erases(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(role=Role.ADMIN, email="jo@helpdesk.test", name="Jo Admin")
    ticket_id = open_ticket(sender="cy@customer.test", text="My lamp flickers since Monday")
    with setup():
        customer = db.session.get(Ticket, ticket_id).customer
        customer.name = "Cy Young"
        customer_id = customer.id
    log_in(page, live_url, "jo@helpdesk.test")

    page.goto(f"{live_url}/customers/{customer_id}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export data").click()
    assert download.value.suggested_filename == f"customer-{customer_id}-export.zip"
    page.get_by_role("link", name="Erase customer").click()
    expect(page.get_by_role("heading", name="Erase Cy Young")).to_be_visible()
    expect(page.get_by_text("cy@customer.test")).to_be_visible()
    page.get_by_label("Type the customer's name or ERASE to confirm").fill("Cy")
    page.get_by_role("button", name="Erase customer").click()
    expect(page.get_by_text("That is neither the customer's name nor ERASE")).to_be_visible()

    page.get_by_label("Type the customer's name or ERASE to confirm").fill("cy young")
    page.get_by_role("button", name="Erase customer").click()
    expect(page.get_by_text(f"Customer {customer_id} erased")).to_be_visible()
    expect(page.get_by_role("heading", name="Erased customer", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Erase customer")).to_have_count(0)
    page.get_by_role("link", name="#1 (erased)").click()
    expect(page.get_by_text("My lamp flickers")).to_have_count(0)
