"""The Content-Security-Policy in a real browser: the agent, manager and admin pages load and
work in Chromium without one blocked script, style or frame."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import ConsoleMessage, Page, expect

from helpdesk.models import Role

pytestmark = pytest.mark.once

# Collects what the page's policy blocked; added by the browser before any page script runs.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI}`);
});
"""


def watch(page: Page) -> list[str]:
    """What Chromium's console says the policy refused (also where no event reaches us)."""
    seen: list[str] = []
    page.add_init_script(WATCH_VIOLATIONS)

    def note(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            seen.append(message.text)

    page.on("console", note)
    return seen


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__violations")


def test_agent_manager_and_admin_pages_pass_the_policy(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(role=Role.ADMIN, email="jo@helpdesk.test", name="Jo Admin")
    ticket = open_ticket(
        subject="Where is my parcel?",
        sender="cy@customer.test",
        html="<p>Where is <b>my parcel</b>?</p>",
    )
    open_ticket("sms", text="ORDER 3 bags please")
    refusals = watch(page)
    log_in(page, live_url, "jo@helpdesk.test")
    assert violations(page) == []

    page.get_by_role("link", name="Where is my parcel?").click()
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()
    page.get_by_label("Message").fill("Checking the warehouse first.")
    page.get_by_role("button", name="Add internal note").click()  # app.js posts it
    expect(page.locator(".msg-note")).to_contain_text("Checking the warehouse first.")
    assert violations(page) == [], page.url

    pages = [
        f"/tickets/{ticket}",
        "/customers",
        "/customers/1",
        "/views",
        "/reports/stages",
        "/reports/stage-corrections",
        "/admin/users",
        "/admin/users/new",
        "/admin/tokens",
        "/admin/teams",
        "/admin/webhooks",
        "/admin/audit",
        "/account/security",
    ]
    for path in pages:
        answer = page.goto(f"{live_url}{path}")
        assert answer is not None and answer.ok, path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
        assert violations(page) == [], path

    page.get_by_role("button", name="Set up two-factor").click()
    expect(page.locator("#two-factor-secret")).to_be_visible()
    assert violations(page) == []

    page.goto(f"{live_url}/reports/stages")
    page.get_by_label("Channel").select_option("sms")
    expect(page.get_by_label("Channel")).to_have_value("sms")
    assert violations(page) == []
    assert refusals == []
