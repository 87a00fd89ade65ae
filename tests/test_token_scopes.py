"""Scoped API tokens: each reads, writes or does all its user's role allows, never more than the
role; tokens may expire; every token is rate limited. Set up through the CLI, the admin tokens
page and the API, the way an admin and an integration would."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, text

from helpdesk import accounts
from helpdesk.extensions import db, limiter
from helpdesk.models import ApiToken, AuditEvent, Role, TokenScope, utcnow


@pytest.fixture
def bearer(setup, make_user):
    """``bearer(role, scope)``: a token's Authorization header for a new user of that role."""

    def build(role: Role | str = Role.AGENT, scope: str | None = None, **token) -> dict[str, str]:
        with setup():
            minted = accounts.mint_token(make_user(role=role), scope=scope, **token)
        return {"Authorization": f"Bearer {minted.secret}"}

    return build


def refusal(response) -> tuple[int, str, str]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], error["message"]


def test_a_read_token_reads_but_changes_nothing(client, bearer, open_ticket):
    ticket_id = open_ticket()
    headers = bearer(scope="read")
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).status_code == 200
    assert client.get("/api/v1/customers", headers=headers).status_code == 200

    patch = client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "high"}, headers=headers)
    status, code, message = refusal(patch)
    assert (status, code) == (403, "insufficient-scope")
    assert "write scope" in message and "read" in message
    note = client.post(f"/api/v1/tickets/{ticket_id}/notes", json={"text": "x"}, headers=headers)
    assert refusal(note)[:2] == (403, "insufficient-scope")
    ticket = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    assert ticket["priority"] == "normal" and len(ticket["messages"]) == 1


def test_a_write_token_writes_tickets_but_only_an_admin_token_erases(client, bearer, open_ticket):
    ticket_id = open_ticket()
    write = bearer(Role.ADMIN, "write")
    patch = client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "high"}, headers=write)
    assert patch.status_code == 200 and patch.get_json()["priority"] == "high"
    customer_id = patch.get_json()["customer"]["id"]

    erase = client.post(f"/api/v1/customers/{customer_id}/erase", headers=write)
    assert refusal(erase)[:2] == (403, "insufficient-scope")
    assert "admin scope" in refusal(erase)[2]
    export = client.get(f"/api/v1/customers/{customer_id}/export", headers=write)
    assert refusal(export)[:2] == (403, "insufficient-scope")
    shared = {"name": "Thanks", "text": "Thank you!", "shared": True}
    assert refusal(client.post("/api/v1/macros", json=shared, headers=write))[:2] == (
        403,
        "insufficient-scope",
    )

    admin = bearer(Role.ADMIN, "admin")
    assert client.get(f"/api/v1/customers/{customer_id}/export", headers=admin).status_code == 200
    assert client.post("/api/v1/macros", json=shared, headers=admin).status_code == 201


def test_a_token_made_before_scopes_keeps_its_role_and_the_role_still_limits_it(
    client, setup, make_user, make_token, open_ticket
):
    ticket_id = open_ticket()
    with setup():
        agent_token = make_token(make_user(role=Role.AGENT))
        scope = db.session.scalar(select(ApiToken.scope))
    assert scope == TokenScope.ADMIN  # a row written without a scope keeps its full role
    headers = {"Authorization": f"Bearer {agent_token}"}
    patch = client.patch(f"/api/v1/tickets/{ticket_id}", json={"status": "open"}, headers=headers)
    assert patch.status_code == 200
    customer_id = patch.get_json()["customer"]["id"]
    erase = client.post(f"/api/v1/customers/{customer_id}/erase", headers=headers)
    assert refusal(erase)[:2] == (403, "forbidden")  # the agent's role, not the scope


def test_the_migration_gives_old_tokens_their_users_full_role(unmigrated_app):
    with unmigrated_app.app_context():
        upgrade(revision="0031_suppressions")
        for n, role in enumerate(("agent", "manager", "admin"), 1):
            db.session.execute(
                text(
                    "INSERT INTO users (id, email, name, role, password_hash, active, available,"
                    " stays_away, created_at) VALUES (:n, :email, :email, :role, 'x', true,"
                    " false, false, :now)"
                ),
                {"n": n, "email": f"{role}@x.test", "role": role, "now": utcnow()},
            )
            db.session.execute(
                text(
                    "INSERT INTO api_tokens (name, user_id, token_hash, created_at)"
                    " VALUES (:name, :n, :hash, :now)"
                ),
                {"name": role, "n": n, "hash": f"{n:064}", "now": utcnow()},
            )
        db.session.commit()
        upgrade(revision="0032_token_scopes")
        scopes = dict(db.session.execute(text("SELECT name, scope FROM api_tokens")).all())
        assert scopes == {"agent": "admin", "manager": "admin", "admin": "admin"}
        db.session.remove()


def test_a_token_without_a_scope_may_do_all_its_users_role_allows(ctx, make_user):
    for role in Role:
        user = make_user(role=role)
        assert accounts.mint_token(user).token.scope == TokenScope.ADMIN
        assert accounts.mint_token(user, scope="read").token.scope == TokenScope.READ


def test_an_agents_admin_token_is_still_an_agents(client, bearer):
    """The scope never widens the role: an agent's widest token still cannot erase anyone."""
    headers = bearer(Role.AGENT, "admin")
    macro = client.post("/api/v1/macros", json={"name": "Mine", "text": "Hi"}, headers=headers)
    assert macro.status_code == 201
    assert refusal(client.get("/api/v1/audit", headers=headers))[:2] == (403, "forbidden")
    shared = {"name": "Ours", "text": "Hi", "shared": True}
    assert refusal(client.post("/api/v1/macros", json=shared, headers=headers))[:2] == (
        403,
        "forbidden",
    )


def test_config_writes_need_the_admin_scope(client, bearer):
    """``write`` covers tickets and customers; a macro is configuration."""
    macro = {"name": "Mine", "text": "Hi"}
    answer = client.post("/api/v1/macros", json=macro, headers=bearer(Role.AGENT, "write"))
    assert refusal(answer)[:2] == (403, "insufficient-scope")


def test_reports_need_a_managers_token_that_reads(client, bearer):
    report = "/api/v1/reports/stage-load"
    assert client.get(report, headers=bearer(Role.MANAGER, "read")).status_code == 200
    assert client.get(report, headers=bearer(Role.ADMIN, "read")).status_code == 200
    corrections = "/api/v1/reports/stage-corrections"
    assert client.get(corrections, headers=bearer(Role.MANAGER, "read")).status_code == 200
    assert refusal(client.get(report, headers=bearer(Role.AGENT, "write")))[:2] == (
        403,
        "forbidden",
    )


def test_an_expired_token_is_refused_like_a_revoked_one(client, setup, bearer):
    headers = bearer(expires_at=utcnow() + timedelta(hours=1))
    assert client.get("/api/v1/tickets", headers=headers).status_code == 200
    with setup():
        db.session.scalar(select(ApiToken)).expires_at = utcnow() - timedelta(seconds=1)
    status, code, message = refusal(client.get("/api/v1/tickets", headers=headers))
    assert (status, code) == (401, "unauthorized") and "expired" in message


def test_a_token_works_through_its_last_day_in_the_helpdesks_time_zone(ctx, make_user):
    # Berlin is UTC+1 in January: the day ends at 23:00 UTC.
    ends = accounts.expiry_after(date(2027, 1, 31), "Europe/Berlin")
    assert ends == datetime(2027, 1, 31, 23, 0, tzinfo=UTC)
    yesterday = accounts.expiry_after(date.today() - timedelta(days=2), "UTC")
    with pytest.raises(accounts.AccountError, match="that day has passed"):
        accounts.mint_token(make_user(), expires_at=yesterday)


def test_the_cli_mints_with_a_scope_and_an_expiry(ctx, runner, make_user):
    make_user(email="ci@x.test")
    minted = runner.invoke(
        args=[
            "users",
            "token",
            "ci@x.test",
            "--name",
            "ci",
            "--scope",
            "read",
            "--expires",
            "2099-12-31",
        ]
    )
    assert minted.exit_code == 0, minted.output
    assert "scope read" in minted.output
    token = db.session.scalar(select(ApiToken).where(ApiToken.name == "ci"))
    assert token.token_hash == ApiToken.hash(minted.output.split()[-1])
    assert (token.scope, token.expires_at) == (
        TokenScope.READ,
        datetime(2100, 1, 1, tzinfo=UTC),
    )
    default = runner.invoke(args=["users", "token", "ci@x.test", "--name", "full"])
    assert "scope admin" in default.output
    past = runner.invoke(args=["users", "token", "ci@x.test", "--expires", "2001-01-01"])
    assert past.exit_code != 0 and "that day has passed" in past.output
    bad = runner.invoke(args=["users", "token", "ci@x.test", "--scope", "everything"])
    assert bad.exit_code != 0


def test_the_tokens_page_mints_scoped_lists_every_token_and_an_admin_revokes_any(
    client, login, setup, make_user, app
):
    admin = login(Role.ADMIN)
    with setup():
        agent = make_user(email="dee@x.test").id
    past = client.post(
        "/admin/tokens", data={"user": str(agent), "name": "old", "expires": "2001-01-01"}
    )
    assert past.status_code == 400 and "that day has passed" in past.text
    assert 'value="old"' in past.text  # nothing typed is lost

    page = client.post(
        "/admin/tokens",
        data={"user": str(agent), "name": "shop", "scope": "read", "expires": "2099-12-31"},
    )
    assert page.status_code == 200 and "scope read" in page.text
    secret = re.search(r'id="minted-secret">([^<]+)<', page.text).group(1)
    used = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert used.status_code == 200

    listing = client.get("/admin/tokens").text
    row = re.search(r"<tr[^>]*>\s*<td data-label=\"Name\">shop</td>.*?</tr>", listing, re.S)
    assert "dee@x.test" in row.group(0) and ">read<" in row.group(0)
    assert "01 Jan 2100" in row.group(0) and "never" not in row.group(0)  # last used shown

    with setup():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "shop"))
    assert client.post(f"/admin/tokens/{token_id}/revoke").status_code == 302
    refused = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401
    with setup():
        created, revoked = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "token", AuditEvent.target_id == str(token_id))
            .order_by(AuditEvent.id)
        )
        assert (created.action, created.actor_id) == ("token.created", admin)
        assert created.after["scope"] == "read" and created.after["expires_at"]
        assert (revoked.action, revoked.actor_id) == ("token.changed", admin)
        assert revoked.after["revoked_at"]


def test_the_document_names_each_routes_scope(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert paths["/api/v1/tickets"]["get"]["x-scope"] == "read"
    assert paths["/api/v1/tickets/{ticket_id}"]["patch"]["x-scope"] == "write"
    assert paths["/api/v1/customers/{customer_id}/erase"]["post"]["x-scope"] == "admin"
    assert "x-scope" not in paths["/api/v1/openapi.json"]["get"]
    answers = paths["/api/v1/tickets"]["get"]["responses"]
    assert "403" in answers and "Retry-After" in answers["429"]["headers"]


@pytest.fixture
def tiny_limit(app, monkeypatch):
    monkeypatch.setitem(app.config, "HELPDESK_API_RATE_LIMIT", "2 per hour")
    limiter.reset()
    yield
    limiter.reset()


def test_each_token_has_its_own_rate_limit_and_hears_when_to_come_back(client, bearer, tiny_limit):
    first, second = bearer(), bearer()
    remaining = []
    for _ in range(2):
        response = client.get("/api/v1/tickets", headers=first)
        assert response.status_code == 200
        assert response.headers["RateLimit-Limit"] == "2"
        remaining.append(response.headers["RateLimit-Remaining"])
    assert remaining == ["1", "0"]

    over = client.get("/api/v1/tickets", headers=first)
    status, code, message = refusal(over)
    assert (status, code) == (429, "rate-limited") and "2 per 1 hour" in message
    assert over.headers["RateLimit-Remaining"] == "0"
    assert 1 <= int(over.headers["Retry-After"]) <= 3600
    assert 0 <= int(over.headers["RateLimit-Reset"]) <= 3600
    assert client.get("/api/v1/tickets", headers=second).status_code == 200


def test_requests_without_a_token_are_limited_by_address(client, tiny_limit):
    answers = [client.get("/api/v1/tickets").status_code for _ in range(3)]
    assert answers == [401, 401, 429]
    assert client.get("/api/v1/openapi.json").status_code == 429
