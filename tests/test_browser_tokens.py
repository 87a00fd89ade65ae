"""An admin mints a scoped, expiring token for an agent, sees it used, and revokes it, in
Chromium."""

from __future__ import annotations

import pytest
from live_browser import log_in
from playwright.sync_api import expect

from helpdesk.models import Role

pytestmark = pytest.mark.once


def test_an_admin_mints_a_read_token_for_an_agent_sees_its_use_and_revokes_it(
    page, live_url, setup, make_user
):
    with setup():
        make_user(role=Role.ADMIN, email="jo@helpdesk.test", name="Jo Admin")
        make_user(email="dee@helpdesk.test", name="Dee Agent")
    log_in(page, live_url, "jo@helpdesk.test")
    page.goto(f"{live_url}/admin/tokens")
    page.get_by_label("For user").select_option(label="Dee Agent <dee@helpdesk.test>")
    page.get_by_label("Name").fill("shop sync")
    page.get_by_label("Works through").fill("2001-01-01")
    page.get_by_role("button", name="Mint token").click()
    expect(page.get_by_text("that day has passed; choose today or a later day")).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("shop sync")

    page.get_by_label("Scope").select_option("read")
    page.get_by_label("Works through").fill("2099-12-31")
    page.get_by_role("button", name="Mint token").click()
    expect(page.get_by_role("heading", name="for dee@helpdesk.test, scope read")).to_be_visible()
    secret = page.locator("#minted-secret").inner_text()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert page.request.get(f"{live_url}/api/v1/tickets", headers=bearer).status == 200
    refused = page.request.patch(f"{live_url}/api/v1/tickets/1", headers=bearer, data={})
    assert (refused.status, refused.json()["error"]["code"]) == (403, "insufficient-scope")

    page.goto(f"{live_url}/admin/tokens")
    row = page.get_by_role("row").filter(has_text="shop sync")
    expect(row.get_by_role("cell").nth(2)).to_have_text("read")
    expect(row).to_contain_text("01 Jan 2100, 00:00")
    expect(row.get_by_role("cell").nth(5)).not_to_have_text("never")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("Token shop sync is revoked")).to_be_visible()
    expect(row).to_contain_text("revoked")
    assert page.request.get(f"{live_url}/api/v1/tickets", headers=bearer).status == 401
