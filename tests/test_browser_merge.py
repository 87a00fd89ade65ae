"""Merging and splitting as an agent clicks them on the ticket page, in Chromium."""

from __future__ import annotations

import re

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.extensions import db
from helpdesk.models import Ticket
from helpdesk.tickets import service

pytestmark = pytest.mark.once


def test_an_agent_merges_a_ticket_of_another_customer_after_reading_what_it_means(
    page,
    live_url,
    setup,
    make_user,
    open_ticket,
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    target = open_ticket(subject="Broken lamp", sender="cy@customer.test", text="It flickers")
    source = open_ticket(subject="Lamp again", sender="dee@customer.test", text="Mine too")
    with setup():
        number = db.session.get(Ticket, target).number
    log_in(page, live_url, "ada@helpdesk.test")

    page.goto(f"{live_url}/tickets/{source}")
    page.get_by_label("Merge into…").fill(f"#{number}")
    page.get_by_role("button", name="Merge", exact=True).click()
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("These tickets are from different customers.")
    expect(notice).to_contain_text("replies go to cy@customer.test by Email")
    page.get_by_role("button", name="Merge anyway").click()

    expect(page).to_have_url(f"{live_url}/tickets/{target}")
    expect(page.locator(".flash")).to_contain_text(f"was merged into #{number}")
    expect(page.locator(".msg-inbound")).to_have_count(2)
    expect(page.get_by_label("Cc")).to_have_value("dee@customer.test")
    page.goto(f"{live_url}/tickets/{source}")
    banner = page.locator(".merged-banner")
    expect(banner).to_contain_text(f"Merged into #{number}")
    banner.get_by_role("link", name=f"#{number}").click()
    expect(page).to_have_url(f"{live_url}/tickets/{target}")


def test_an_agent_splits_a_ticket_from_a_messages_menu(
    page,
    live_url,
    setup,
    make_user,
    open_ticket,
    inbound,
):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    ticket = open_ticket("sms", text="My order is late")
    with setup():
        service.receive(inbound("sms", text="Also, can I change my address?"))
        number = db.session.get(Ticket, ticket).number
    log_in(page, live_url, "ada@helpdesk.test")

    page.goto(f"{live_url}/tickets/{ticket}")
    later = page.locator(".msg", has_text="Also, can I change my address?")
    later.get_by_label("More actions").click()
    later.get_by_role("button", name="Split from here").click()
    expect(page.get_by_role("heading", name=f"Split #{number} from this message?")).to_be_visible()
    page.get_by_role("button", name="Split into a new ticket").click()

    expect(page).not_to_have_url(re.compile(rf"/tickets/{ticket}$"))
    expect(page.locator(".flash")).to_contain_text(f"Split from #{number}")
    expect(page.locator(".msg")).to_have_count(1)
    expect(page.locator(".msg")).to_contain_text("Also, can I change my address?")
    page.locator(".badges").get_by_role("link", name=f"#{number}").click()
    expect(page.locator(".msg")).to_have_count(1)
    expect(page.locator(".msg")).to_contain_text("My order is late")
