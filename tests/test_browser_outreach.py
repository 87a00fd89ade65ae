"""Outreach as people click it, in Chromium: an agent starts a conversation from a customer's
page; a manager previews a small campaign and sends it."""

from __future__ import annotations

import re

import pytest
from live_browser import log_in
from mail_servers import sending_mailbox
from playwright.sync_api import expect
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Customer, CustomerIdentity, IdentityKind, Stage, Ticket, utcnow
from helpdesk.tickets import outreach

pytestmark = pytest.mark.once


def a_customer(name: str, email: str) -> int:
    customer = Customer(name=name, created_at=utcnow())
    identity = CustomerIdentity(
        customer=customer, kind=IdentityKind.EMAIL, value=email, verified_at=utcnow()
    )
    db.session.add_all([customer, identity])
    db.session.flush()
    return customer.id


def test_an_agent_starts_a_conversation_from_the_customer_page(
    page, live_url, setup, make_user, smtp_sink, tmp_path
):
    with setup():
        sending_mailbox(smtp_sink)
        make_user(email="ada@helpdesk.test", name="Ada Agent")
        customer = a_customer("Ann Lee", "ann@example.com")
    log_in(page, live_url, "ada@helpdesk.test")

    page.goto(f"{live_url}/customers/{customer}")
    card = page.get_by_role("region", name="Start a conversation")
    expect(card.get_by_label("To")).to_have_value(re.compile(r"\d+"))
    card.get_by_label("Message").fill("Your grinder is back from repair.")
    card.get_by_role("button", name="Start conversation").click()
    # No subject: refused beside the field, the text kept.
    expect(page.locator("#outreach-subject-error")).to_have_text("an email needs a subject")
    expect(page.get_by_label("Message")).to_have_value("Your grinder is back from repair.")
    page.get_by_label("Subject (email)").fill("Your grinder")
    page.get_by_label("Journey stage").select_option(label="Use")
    page.screenshot(path=tmp_path / "outreach-form.png")
    page.get_by_role("button", name="Start conversation").click()

    expect(page.locator(".flash")).to_contain_text("Conversation started")
    expect(page.locator(".badge.proactive")).to_have_text("Proactive")
    expect(page.locator(".msg")).to_contain_text("Your grinder is back from repair.")
    with setup():
        [ticket] = db.session.scalars(select(Ticket)).all()
        assert (ticket.proactive, ticket.stage, ticket.assignee.name) == (
            True,
            Stage.USE,
            "Ada Agent",
        )


def test_a_manager_previews_and_sends_a_small_campaign(
    page, live_url, setup, make_user, smtp_sink, tmp_path
):
    with setup():
        sending_mailbox(smtp_sink)
        agent = make_user(email="ada@helpdesk.test")
        make_user(role="manager", email="mia@helpdesk.test", name="Mia Manager")
        for n, name in enumerate(("Ann Lee", "Bo Chen", "Cy Diaz")):
            customer = db.session.get(Customer, a_customer(name, f"c{n}@example.com"))
            draft = outreach.Draft(
                customer, Channel.EMAIL, "Question", subject="Q", stage=Stage.PURCHASE
            )
            outreach.take_on_behalf(draft, agent)
        outreach.unsubscribe("c2@example.com")
    log_in(page, live_url, "mia@helpdesk.test")

    page.get_by_role("link", name="Outreach").click()
    today = utcnow().date().isoformat()
    page.get_by_label("Journey stage of their ticket").select_option(label="Purchase")
    page.get_by_label("From", exact=True).first.fill(today)
    page.get_by_label("To", exact=True).fill(today)
    page.get_by_label("Subject (email)").fill("Spring beans")
    page.get_by_label("Message").fill("Our spring beans are in.")
    page.get_by_label("Journey stage of the new tickets").select_option(label="Cultivation")
    page.get_by_role("button", name="Preview").click()

    preview = page.get_by_role("status")
    expect(preview).to_contain_text("2 customers will receive it; 1 left out")
    expect(preview).to_contain_text("1 unsubscribed")
    page.screenshot(path=tmp_path / "outreach-campaign.png", full_page=True)
    page.get_by_role("button", name="Send to 2").click()

    expect(page.locator(".flash")).to_contain_text("Campaign sent: 2 customers will get it")
    expect(page.locator(".sidebar")).to_contain_text("by Mia Manager")
    with setup():
        started = db.session.scalars(select(Ticket).where(Ticket.proactive)).all()
        assert sorted(t.customer.name for t in started) == ["Ann Lee", "Bo Chen"]
