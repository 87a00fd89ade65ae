"""What a person clicks, in Debian's Chromium driven by Playwright against a live server."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright
from sqlalchemy import select
from werkzeug.serving import make_server

from helpdesk.extensions import db
from helpdesk.models import Role, Survey, Ticket, TicketStatus
from helpdesk.tickets import service, stage_rules, surveys

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def live_url(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on a free local port for the length of the run."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    yield context.new_page()
    context.close()


def log_in(page: Page, live_url: str, email: str) -> None:
    page.goto(f"{live_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()


def test_an_agent_works_a_ticket_from_the_queue(page, live_url, setup, make_user, open_ticket):
    with setup():
        make_user(email="ada@helpdesk.test", name="Ada Agent")
    open_ticket(subject="Where is my parcel?", sender="cy@customer.test")
    open_ticket("sms", text="ORDER 3 bags please")
    log_in(page, live_url, "ada@helpdesk.test")

    page.get_by_label("Channel").select_option("email")
    expect(page).to_have_url(
        f"{live_url}/tickets?status=new%2Copen%2Cpending&channel=email&sort=newest"
    )
    expect(page.locator("table.queue tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Where is my parcel?").click()
    expect(page.get_by_role("heading", name="Where is my parcel?")).to_be_visible()

    page.get_by_label("Message").fill("Checking the warehouse first.")
    page.get_by_role("button", name="Add internal note").click()
    expect(page.locator(".msg-note")).to_contain_text("Checking the warehouse first.")

    page.get_by_label("Message").fill("Your parcel left today.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".msg-outbound")).to_contain_text("Your parcel left today.")
    expect(page.locator(".msg-outbound .delivery")).to_have_text("Queued")

    page.get_by_label("Status").select_option("pending")
    page.get_by_label("Journey stage").select_option("purchase")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Ticket updated.")
    expect(page.locator(".badges")).to_contain_text("Pending")
    expect(page.locator(".badges")).to_contain_text("Purchase")
    activity = page.locator(".activity")
    expect(activity).to_contain_text("changed status from open to pending")
    expect(activity).to_contain_text("changed stage from unknown to purchase")
    expect(activity).to_contain_text("added a note")
    expect(activity).to_contain_text("replied")


def test_an_agent_cannot_reach_the_admin_pages(page, live_url, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test")
        make_user(role=Role.ADMIN, email="root@helpdesk.test")
    log_in(page, live_url, "ada@helpdesk.test")
    expect(page.get_by_role("link", name="Admin")).to_have_count(0)
    response = page.goto(f"{live_url}/admin/users")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not for your role")).to_be_visible()
    expect(page.get_by_text("root@helpdesk.test")).to_have_count(0)


def test_a_manager_reads_the_stage_dashboard_and_drills_down(
    page, live_url, setup, make_user, open_ticket
):
    with setup():
        make_user(role=Role.MANAGER, email="mo@helpdesk.test")
    for n in range(3):
        open_ticket("sms", text=f"ORDER {n} bags", sender=f"+1555000300{n}")
    open_ticket(subject="Where is my parcel?")
    log_in(page, live_url, "mo@helpdesk.test")
    page.get_by_role("link", name="Journey stages").click()
    expect(page.get_by_role("heading", name="Journey stages")).to_be_visible()
    expect(page.locator("svg.chart rect")).not_to_have_count(0)

    table = page.locator("table.report").first
    unknown = table.locator("tr", has=page.locator("th", has_text="Unknown"))
    expect(unknown.locator("td").first).to_have_text("4")
    unknown.locator("td").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    expect(page.locator("table.queue tbody tr")).to_have_count(4)

    page.goto(f"{live_url}/reports/stages?from=2020-01-01&to=2020-01-31")
    expect(page.get_by_text("No requests arrived in this range.")).to_be_visible()


def test_an_admin_adds_tries_reorders_and_disables_a_stage_rule(page, live_url, setup, make_user):
    with setup():
        make_user(role=Role.ADMIN, email="root@helpdesk.test")
        stage_rules.add_rule("any text", "use", {"channel": "sms"})
    log_in(page, live_url, "root@helpdesk.test")
    page.get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Stage rules").click()

    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("orders")
    page.get_by_label("Gives the stage").select_option("purchase")
    page.get_by_label("First word").fill("ORDER")
    page.get_by_role("button", name="Save rule").click()
    expect(page.locator(".flash")).to_contain_text("Rule “orders” added")
    rows = page.locator("table.rules tbody tr")
    expect(rows.nth(1)).to_contain_text("orders")

    try_box = page.locator("#try")
    try_box.get_by_label("Channel").select_option("sms")
    try_box.get_by_label("Arrives at").fill("+15550001000")
    try_box.get_by_label("Text").fill("order 12 is late")
    try_box.get_by_role("button", name="Try it").click()
    expect(page.locator(".trial-answer")).to_contain_text("Use")
    expect(page.locator(".trial-steps")).to_contain_text("any text — matched")

    page.get_by_role("button", name="Move orders up").click()
    expect(rows.first).to_contain_text("orders")
    page.goto(f"{live_url}/admin/stages?channel=sms&endpoint=%2B15550001000&text=order+12")
    expect(page.locator(".trial-answer")).to_contain_text("Purchase")
    expect(page.locator(".trial-answer")).to_contain_text("first word ORDER")

    page.get_by_role("button", name="Disable orders").click()
    expect(page.locator(".flash")).to_contain_text("is off")
    expect(rows.first).to_contain_text("Disabled")
    page.goto(f"{live_url}/admin/stages?channel=sms&endpoint=%2B15550001000&text=order+12")
    expect(page.locator(".trial-steps")).to_contain_text("orders — skipped: disabled")
    expect(page.locator(".trial-answer")).to_contain_text("Use")


def test_a_customer_answers_the_survey_from_the_link(page, app, live_url, setup, open_ticket):
    app.config["HELPDESK_CSAT"] = True
    try:
        ticket_id = open_ticket(subject="Grinder noise")
        with setup():
            ticket = db.session.get(Ticket, ticket_id)
            service.set_status(ticket, None, TicketStatus.SOLVED)
            link = surveys.survey_url(db.session.scalar(select(Survey)))
    finally:
        app.config["HELPDESK_CSAT"] = False
    page.goto(live_url + link.removeprefix("http://helpdesk.test"))
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    page.get_by_role("button", name="Send my answer").click()
    expect(page.locator("#score-error")).to_have_text("Pick a rating from 1 to 5.")
    page.get_by_label("4 · Good").check()
    page.get_by_label("Anything you would like to tell us? (optional)").fill("Fixed in a day.")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("status")).to_have_text("Thank you! We have your rating of 4 out of 5.")
    with setup():
        survey = db.session.scalar(select(Survey))
        assert (survey.score, survey.comment) == (4, "Fixed in a day.")
        assert survey.ticket.status == TicketStatus.SOLVED
