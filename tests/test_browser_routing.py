"""An admin sets up routing in the browser: a rule made on the admin page, then tried."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk import teams
from helpdesk.models import Role

pytestmark = pytest.mark.once


def test_an_admin_makes_a_routing_rule_and_tries_it(page, live_url, setup, make_user):
    with setup():
        make_user(role=Role.ADMIN, email="root@helpdesk.test")
        teams.create_team("Billing")
    log_in(page, live_url, "root@helpdesk.test")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Routing").click()
    expect(page.get_by_text("No routing rules yet")).to_be_visible()

    page.get_by_role("link", name="New rule").click()
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#name-error")).to_be_visible()
    page.get_by_label("Name").fill("Orders by SMS")
    page.get_by_label("Stage now").select_option("purchase")
    page.get_by_label("Channel").select_option("sms")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator("#team-error")).to_have_text("a rule sets a team, a priority or both")
    page.get_by_label("Sends it to the team").select_option(label="Billing")
    page.get_by_label("Gives the priority").select_option("high")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".flash")).to_contain_text("Routing rule “Orders by SMS” added")
    row = page.locator("table.rules tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Billing")

    page.get_by_label("Channel").select_option("sms")
    page.get_by_label("Stage", exact=True).select_option("purchase")
    page.get_by_role("button", name="Try it").click()
    expect(page.locator(".trial-answer")).to_contain_text(
        "Rule “Orders by SMS” sends it to Billing High because stage purchase and channel sms"
    )
    page.get_by_label("Stage", exact=True).select_option("use")
    page.get_by_role("button", name="Try it").click()
    expect(page.locator(".trial-answer")).to_have_text("No rule matches: no team, normal priority.")
