"""Saved views and bulk changes as an agent clicks them, in Chromium against a live server."""

from __future__ import annotations

import re

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Ticket, TicketStatus

pytestmark = pytest.mark.once


def test_an_agent_saves_a_view_sees_its_count_and_lands_on_it(
    page,
    live_url,
    setup,
    make_user,
    open_ticket,
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    for n in range(2):
        open_ticket("sms", sender=f"+1555000300{n}", text="ORDER two bags")
    open_ticket(subject="Invoice copy", sender="cy@customer.test")
    log_in(page, live_url, "ada@helpdesk.test")

    page.get_by_label("Channel").select_option("sms")
    expect(page.locator("table.queue tbody tr")).to_have_count(2)
    page.get_by_text("Save this view").click()
    page.get_by_label("View name").fill("Texts")
    page.get_by_role("button", name="Save view").click()
    expect(page.locator(".flash")).to_have_text("View “Texts” saved.")
    views = page.get_by_role("navigation", name="Saved views")
    expect(views.get_by_role("link", name=re.compile(r"Texts\s+2"))).to_have_attribute(
        "aria-current", "page"
    )

    page.get_by_role("link", name="Manage views").click()
    page.get_by_role("button", name="Make this my default landing view").click()
    expect(page.locator(".flash")).to_have_text("You land on “Texts” from now on.")
    page.get_by_role("link", name="Helpdesk").click()
    expect(page).to_have_url(
        re.compile(r"/tickets\?status=new,open,pending&channel=sms&sort=newest&view=\d+$")
    )
    expect(page.locator("table.queue tbody tr")).to_have_count(2)


def test_an_agent_ticks_a_range_and_changes_the_status_of_all(
    page,
    live_url,
    setup,
    make_user,
    open_ticket,
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ids = [open_ticket(subject=f"Parcel {n}", sender=f"c{n}@customer.test") for n in range(4)]
    log_in(page, live_url, "ada@helpdesk.test")

    rows = page.locator("table.queue tbody tr")
    expect(rows).to_have_count(4)
    # Newest first: Parcel 3, 2, 1, 0. Tick the first, shift-click the third: three ticked.
    page.get_by_label(re.compile(r"^Select #")).first.check()
    rows.nth(2).get_by_role("checkbox").click(modifiers=["Shift"])
    expect(page.locator("[data-bulk-selected]")).to_have_text("3 tickets ticked")
    expect(rows.nth(3).get_by_role("checkbox")).not_to_be_checked()

    bar = page.locator("form[data-bulk]")
    bar.get_by_label("Status").select_option("pending")
    bar.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Bulk change done")).to_be_visible()
    expect(page.locator(".summary-counts")).to_contain_text("3 tickets changed")
    expect(page.locator(".summary-counts")).to_contain_text("0 refused")
    with setup():
        statuses = {
            db.session.get(Ticket, t).subject: db.session.get(Ticket, t).status for t in ids
        }
    assert statuses == {
        "Parcel 0": TicketStatus.NEW,
        "Parcel 1": TicketStatus.PENDING,
        "Parcel 2": TicketStatus.PENDING,
        "Parcel 3": TicketStatus.PENDING,
    }

    page.get_by_role("link", name="Back to the queue").click()
    page.get_by_label("Select all on this page").check()
    expect(page.locator("[data-bulk-selected]")).to_have_text("4 tickets ticked")
