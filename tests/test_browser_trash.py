"""Spam and the trash as people click them, in Chromium: an agent marks spam on the ticket
page, a manager deletes the ticket, an admin restores it from the admin Trash page."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from live_browser import log_in
from playwright.sync_api import Browser, Page, expect

from helpdesk.extensions import db
from helpdesk.models import Role, Ticket

pytestmark = pytest.mark.once


@pytest.fixture
def person(browser: Browser, live_url: str) -> Iterator[Callable[[str], Page]]:
    """``person(email)``: a browser window of that user's own, logged in."""
    contexts = []

    def open_as(email: str) -> Page:
        contexts.append(browser.new_context(viewport={"width": 1366, "height": 900}))
        page = contexts[-1].new_page()
        log_in(page, live_url, email)
        return page

    yield open_as
    for context in contexts:
        context.close()


def test_spam_then_delete_then_restore(person, live_url, setup, make_user, open_ticket):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        make_user(role=Role.MANAGER, email="max@helpdesk.test", name="Max Manager")
        make_user(role=Role.ADMIN, email="ana@helpdesk.test", name="Ana Admin")
    ticket = open_ticket(subject="You won a cruise", sender="win@prizes.test", text="Click here")
    with setup():
        number = db.session.get(Ticket, ticket).number

    agent = person("ada@helpdesk.test")
    agent.goto(f"{live_url}/tickets/{ticket}")
    agent.get_by_role("button", name="Mark as spam").click()
    expect(agent.locator(".flash")).to_contain_text(f"#{number} is marked as spam")
    expect(agent.locator(".spam-banner")).to_contain_text("Marked as spam by Ada Agent")
    expect(agent.get_by_role("button", name="Delete")).to_have_count(0)
    agent.screenshot(path="/tmp/trash-1-agent-spam.png", full_page=True)
    agent.goto(f"{live_url}/tickets?status=new,open,pending")
    expect(agent.locator("main")).not_to_contain_text("You won a cruise")
    agent.get_by_role("link", name="Spam").click()
    expect(agent.locator("table.queue")).to_contain_text("You won a cruise")
    agent.screenshot(path="/tmp/trash-2-spam-list.png", full_page=True)

    manager = person("max@helpdesk.test")
    manager.goto(f"{live_url}/tickets/{ticket}")
    manager.once("dialog", lambda dialog: dialog.accept())
    manager.get_by_role("button", name="Delete").click()
    expect(manager.locator(".flash")).to_contain_text(f"#{number} was moved to the trash")
    agent.goto(f"{live_url}/tickets/{ticket}")
    expect(agent.get_by_role("heading", name="Not found")).to_be_visible()

    admin = person("ana@helpdesk.test")
    admin.goto(f"{live_url}/admin/trash")
    row = admin.locator(f"#trash-{ticket}")
    expect(row).to_contain_text("Max Manager")
    expect(row.locator(".days-left")).to_have_text("30")
    admin.screenshot(path="/tmp/trash-3-admin-trash.png", full_page=True)
    row.get_by_role("button", name=f"Restore #{number}").click()
    expect(admin.locator(".flash")).to_contain_text(f"#{number} was restored")
    expect(admin.locator(".spam-banner")).to_be_visible()
    admin.screenshot(path="/tmp/trash-4-restored.png", full_page=True)
    admin.goto(f"{live_url}/admin/trash")
    expect(admin.get_by_text("The trash is empty.")).to_be_visible()
