"""The audit trail: admin actions and API writes, who did them (and with which token), when,
from what to what; secrets only as changed; nothing for reads or for the system's bookkeeping."""

from __future__ import annotations

import re

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import ApiToken, AuditEvent, Role, User


def trail(app, **where) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        for column, value in where.items():
            query = query.where(getattr(AuditEvent, column) == value)
        events = list(db.session.scalars(query))
        db.session.expunge_all()
        return events


def test_an_admins_changes_to_a_user_are_on_record_with_before_and_after(
    client, login, setup, make_user, app
):
    admin = login(Role.ADMIN)
    with setup():
        target = make_user(name="Dee").id
    client.post(f"/admin/users/{target}", data={"name": "Dee", "role": "manager", "submit": "1"})
    client.post(
        f"/admin/users/{target}/password",
        data={"pw-password": "brand new secret", "pw-confirm": "brand new secret"},
    )
    changed = trail(app, action="user.changed", target_id=str(target))
    assert [(e.actor_id, e.token_id) for e in changed] == [(admin, None)] * 2
    role_change, password_change = changed
    assert (role_change.before["role"], role_change.after["role"]) == ("agent", "manager")
    assert role_change.after["active"] is False
    assert password_change.after == {"password_hash": "(changed)"}  # never the hash itself


def test_tokens_minted_and_revoked_are_on_record_without_their_secret(client, login, app):
    admin = login(Role.ADMIN)
    page = client.post("/admin/tokens", data={"user": str(admin), "name": "zapier"})
    secret = re.search(r'id="minted-secret">([^<]+)<', page.text).group(1)
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "zapier"))
    client.post(f"/admin/tokens/{token_id}/revoke")

    [minted] = trail(app, action="token.created")
    assert (minted.actor_id, minted.target_id) == (admin, str(token_id))
    assert minted.after["token_hash"] == "(changed)"
    assert secret not in str(minted.after)
    [revoked] = trail(app, action="token.changed")
    assert revoked.before == {"revoked_at": None} and revoked.after["revoked_at"]


def test_api_writes_are_on_record_with_their_token_and_reads_are_not(
    client, setup, make_user, make_token, open_ticket, app
):
    with setup():
        agent = make_user(name="Ada Agent")
        agent_id = agent.id
        headers = {"Authorization": f"Bearer {make_token(agent)}"}
        token_id = db.session.scalar(select(ApiToken.id))
    ticket_id = open_ticket()
    before = len(trail(app))
    assert client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).status_code == 200
    assert client.patch("/api/v1/tickets/999999", json={}, headers=headers).status_code == 404
    assert len(trail(app)) == before  # reads and refused writes leave nothing

    client.patch(f"/api/v1/tickets/{ticket_id}", json={"priority": "high"}, headers=headers)
    [write] = trail(app, action="api.update_ticket")
    assert (write.actor_id, write.token_id) == (agent_id, token_id)
    assert (write.target_type, write.target_id, write.after) == (
        "ticket",
        str(ticket_id),
        {"priority": "high"},
    )


def test_the_systems_own_bookkeeping_is_left_out(client, login, app):
    me = login()
    client.get("/tickets")  # notes the agent as seen just now
    client.post("/me/availability", data={"available": "1"})
    with app.app_context():
        assert db.session.get(User, me).last_seen_at is not None
    assert trail(app, action="user.changed") == []
