"""The customer page as an agent uses it in Chromium: name, an identity, a merge."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Ticket

pytestmark = pytest.mark.once


def test_an_agent_renames_a_customer_adds_an_address_and_merges_a_duplicate(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    kept = open_ticket(sender="ann@customer.test", sender_name="Ann", subject="Grinder clicks")
    duplicate = open_ticket(sender="ann.lee@work.test", subject="Order 1042")
    with setup():
        kept_id = db.session.get(Ticket, kept).customer_id
        duplicate_id = db.session.get(Ticket, duplicate).customer_id
    log_in(page, live_url, "ada@helpdesk.test")

    page.goto(f"{live_url}/customers/{kept_id}")
    page.get_by_label("Name", exact=True).fill("Ann Lee")
    page.get_by_role("textbox", name="Notes").fill("Prefers email.")
    page.get_by_role("button", name="Save name and notes").click()
    expect(page.locator(".flash")).to_contain_text("Name and notes saved.")
    expect(page.get_by_role("heading", name="Ann Lee", level=1)).to_be_visible()

    identities = page.locator("#identities")
    identities.get_by_label("Kind").select_option("phone")
    identities.get_by_label("Address or number").fill("+1 (555) 010-2000")
    identities.get_by_role("button", name="Add").click()
    expect(page.locator(".flash")).to_contain_text("+15550102000 added, unverified")
    expect(identities.get_by_role("listitem").filter(has_text="+15550102000")).to_contain_text(
        "unverified"
    )

    # The address of the other customer is refused, with the merge offered.
    identities.get_by_label("Address or number").fill("ann.lee@work.test")
    identities.get_by_role("button", name="Add").click()
    expect(identities.locator(".error")).to_contain_text("ann.lee@work.test belongs to")
    identities.get_by_role("button", name="Preview merging").click()
    expect(page.get_by_role("heading", name="What moves")).to_be_visible()
    expect(page.locator(".merge-plan")).to_contain_text("Order 1042")
    page.get_by_role("button", name="Merge these customers").click()

    expect(page).to_have_url(f"{live_url}/customers/{kept_id}")
    expect(page.locator(".flash")).to_contain_text("was merged into Ann Lee")
    expect(page.locator(".timeline")).to_contain_text("Order 1042")
    expect(page.locator("#identities")).to_contain_text("ann.lee@work.test")
    page.goto(f"{live_url}/customers/{duplicate_id}")
    expect(page).to_have_url(f"{live_url}/customers/{kept_id}")
