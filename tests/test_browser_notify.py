"""Being told, in the browser: "Notify me" turns on browser notifications of tickets given to
the agent."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from live_browser import log_in
from playwright.sync_api import Browser, Page, expect

from helpdesk.extensions import db
from helpdesk.models import Ticket, User
from helpdesk.tickets import service

pytestmark = pytest.mark.once

# The browser's Notification (with the permission the context granted), recorded instead of
# shown; and sounds, counted instead of played.
RECORD_NOTIFICATIONS = """
window.told = [];
window.blips = 0;
const browsers = window.Notification;
window.Notification = class {
  static permission = browsers.permission;
  static requestPermission() {
    return browsers.requestPermission();
  }
  constructor(title, options = {}) {
    Object.assign(this, { title, body: options.body, tag: options.tag, onclick: null });
    window.told.push(this);
  }
  close() {}
};
HTMLMediaElement.prototype.play = function () {
  window.blips += 1;
  return Promise.resolve();
};
"""


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    context.grant_permissions(["notifications"])
    context.add_init_script(RECORD_NOTIFICATIONS)
    yield context.new_page()
    context.close()


def told(page: Page) -> list[dict]:
    return page.evaluate("window.told.map(({ title, body, tag }) => ({ title, body, tag }))")


def wait_until_told(page: Page, seconds: float = 10) -> None:
    """Wait for the first notification. Polled from here: Playwright's wait_for_function
    re-evaluates its text in the page, which the Content-Security-Policy forbids."""
    for _ in range(int(seconds * 10)):
        if page.evaluate("window.told.length"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("no notification was shown")


@pytest.fixture
def agents(setup, make_user) -> tuple[int, int]:
    """Ada, who is told, and Bob, who gives her tickets."""
    with setup():
        ada = make_user(email="ada@helpdesk.test", name="Ada Agent")
        bob = make_user(name="Bob Lead")
        return ada.id, bob.id


@pytest.fixture
def assign(setup) -> Callable[[int, int, int], int]:
    """``assign(ticket_id, actor_id, assignee_id)``, committed; returns the ticket's number."""

    def run(ticket_id: int, actor_id: int, assignee_id: int) -> int:
        with setup():
            ticket = db.session.get(Ticket, ticket_id)
            actor, assignee = db.session.get(User, actor_id), db.session.get(User, assignee_id)
            service.assign(ticket, actor, assignee)
            return ticket.number

    return run


def test_an_agent_who_turned_notifications_on_is_told_of_a_ticket_given_to_them(
    page, live_url, agents, assign, open_ticket
):
    ada, bob = agents
    parcel = open_ticket(subject="Where is my parcel?")
    refund = open_ticket(subject="Refund please", sender="cy@customer.test")
    log_in(page, live_url, "ada@helpdesk.test")
    toggle = page.get_by_role("button", name="Notify me")
    # Turned on, it tells of what happens from the moment its stream starts.
    with page.expect_response("**/me/live"):
        toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")

    number = assign(parcel, bob, ada)
    wait_until_told(page)
    assert told(page) == [
        {
            "title": f"#{number} assigned to you by Bob Lead",
            "body": "Where is my parcel?",
            "tag": f"ticket-{parcel}",
        }
    ]
    assert page.evaluate("window.blips") == 1
    page.evaluate("window.told[0].onclick()")
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()

    # The choice stays; a page loaded since tells nothing again, and taking a ticket oneself
    # tells nothing at all.
    page.reload()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assign(refund, ada, ada)
    assign(refund, bob, bob)
    number = assign(refund, bob, ada)
    wait_until_told(page)
    assert [note["title"] for note in told(page)] == [f"#{number} assigned to you by Bob Lead"]


def test_notifications_stay_off_until_the_agent_turns_them_on(
    page, live_url, agents, assign, open_ticket
):
    ada, bob = agents
    first, second = open_ticket(subject="First"), open_ticket(subject="Second")
    log_in(page, live_url, "ada@helpdesk.test")
    toggle = page.get_by_role("button", name="Notify me")
    expect(toggle).to_have_attribute("aria-pressed", "false")

    assign(first, bob, ada)
    # Turned on afterwards: only what happens from then on is told.
    with page.expect_response("**/me/live"):
        toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    assign(second, bob, ada)
    wait_until_told(page)
    assert [note["body"] for note in told(page)] == ["Second"]
