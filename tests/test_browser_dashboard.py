"""The stage dashboard's presets and hot spots as a manager clicks them, in Chromium."""

from __future__ import annotations

import re

import pytest
from live_browser import log_in
from playwright.sync_api import expect

pytestmark = pytest.mark.once


def test_a_manager_picks_a_preset_and_follows_a_hot_spot(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(role="manager", email="mo@helpdesk.test")
    for n in range(3):
        open_ticket("sms", text=f"ORDER {n} bags", sender=f"+1555000300{n}")
    log_in(page, live_url, "mo@helpdesk.test")
    page.get_by_role("link", name="Journey stages").click()
    presets = page.get_by_role("navigation", name="Date presets")
    expect(presets.locator("[aria-current]")).to_have_text("Last 30 days")

    page.get_by_label("Channel").select_option("sms")
    expect(page).to_have_url(re.compile(r"channel=sms"))
    presets.get_by_role("link", name="Last 7 days").click()
    expect(presets.locator("[aria-current]")).to_have_text("Last 7 days")
    expect(page).to_have_url(re.compile(r"channel=sms"))  # the other filters stay

    # Nothing arrived in the 7 days before: three more requests (no rule gave them a stage).
    hot = page.locator(".hot-spots")
    expect(hot.get_by_role("link")).to_have_text(["Unknown: arrivals ▲ up 3 (0 → 3)"])
    hot.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    expect(page.locator("table.queue tbody tr")).to_have_count(3)
