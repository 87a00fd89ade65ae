"""The agent workspace as a browser without JavaScript sees it: forms in, pages out."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import (
    ApiToken,
    DeliveryAttempt,
    DeliveryState,
    Direction,
    Message,
    Role,
    Stage,
    StageSource,
    Ticket,
    TicketStatus,
    User,
    utcnow,
)
from helpdesk.tickets import service
from helpdesk.tickets.customers import phone_identity, set_opt_out

PASSWORD = "correct horse battery"
# What the ticket page's properties form carries besides its fields, for a ticket just opened.
AS_OPENED = {
    "version": "1",
    "original_assignee": "",
    "original_status": "new",
    "original_priority": "normal",
    "original_stage": "unknown",
}


def ticket_of(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


# --- logging in -------------------------------------------------------------------------------


def test_pages_send_strangers_to_the_login_and_back_after_it(client, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test")
    page = client.get("/tickets?stage=purchase")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login?next=")
    form = client.get(page.headers["Location"])
    assert 'value="/tickets?stage=purchase"' in form.text
    done = client.post(
        "/login",
        data={"email": "ada@helpdesk.test", "password": PASSWORD, "next": "/tickets?stage=use"},
    )
    assert done.headers["Location"] == "/tickets?stage=use"


@pytest.mark.parametrize(
    "target", ["https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)"]
)
def test_login_never_redirects_off_site(client, setup, make_user, target):
    with setup():
        make_user(email="ada@helpdesk.test")
    done = client.post(
        "/login", data={"email": "ada@helpdesk.test", "password": PASSWORD, "next": target}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/"


def test_wrong_password_and_deactivated_users_get_the_same_message(client, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test")
        make_user(email="gone@helpdesk.test", active=False)
    for email, password in (("ada@helpdesk.test", "wrong"), ("gone@helpdesk.test", PASSWORD)):
        page = client.post("/login", data={"email": email, "password": password})
        assert page.status_code == 200
        assert "Wrong email or password" in page.text


def test_a_blank_login_form_says_what_is_missing_next_to_the_field(client):
    page = client.post("/login", data={"email": "", "password": ""})
    assert 'id="email-error">This field is required' in page.text
    assert 'id="password-error">This field is required' in page.text


def test_remember_me_sets_a_lasting_cookie(client, setup, make_user):
    with setup():
        make_user(email="ada@helpdesk.test")
    done = client.post(
        "/login", data={"email": "ada@helpdesk.test", "password": PASSWORD, "remember": "y"}
    )
    assert "remember_token=" in " ".join(done.headers.getlist("Set-Cookie"))


def test_logout_ends_the_session(client, login):
    login()
    assert client.post("/logout").status_code == 302
    assert client.get("/tickets").status_code == 302


def test_deactivating_a_user_ends_their_session(client, login, setup):
    user_id = login()
    with setup():
        db.session.get(User, user_id).active = False
    assert client.get("/tickets").status_code == 302


def test_forms_refuse_a_post_without_the_csrf_token(app, client, login, open_ticket):
    login()
    ticket_id = open_ticket()
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/tickets/{ticket_id}/messages", data={"text": "hi", "reply": "1"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(Message).where(Message.author_id.is_not(None))) is None


def test_an_agent_sets_themselves_available_and_away(client, login, app):
    user_id = login()
    client.post("/me/availability", data={"available": "1"})
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user.available and user.last_seen_at is not None
    page = client.post("/me/availability", data={"available": "0"}, follow_redirects=True)
    assert "You are away." in page.text


# --- the ticket page --------------------------------------------------------------------------


def test_the_ticket_page_shows_thread_stage_customer_and_other_tickets(
    client, login, open_ticket, setup
):
    login()
    first = open_ticket(sender="ada@customer.test", subject="Where is my parcel?")
    other = open_ticket(sender="ada@customer.test", subject="Invoice question")
    page = client.get(f"/tickets/{first}")
    assert page.status_code == 200
    assert "Where is my parcel?" in page.text
    assert "Threaded: new request" in page.text
    assert "ada@customer.test" in page.text
    assert f'href="/tickets/{other}"' in page.text and "Invoice question" in page.text
    assert "Stage reason" in page.text


def test_an_agent_replies_and_the_reply_is_queued_on_the_ticket(client, login, open_ticket, app):
    login(name="Ada Agent")
    ticket_id = open_ticket()
    done = client.post(
        f"/tickets/{ticket_id}/messages", data={"text": "On its way!", "reply": "Send reply"}
    )
    assert done.status_code == 302
    page = client.get(f"/tickets/{ticket_id}")
    assert "On its way!" in page.text and "Queued" in page.text
    with app.app_context():
        ticket = ticket_of(ticket_id)
        reply = ticket.messages[-1]
        assert reply.direction == Direction.OUTBOUND
        assert reply.delivery_state == DeliveryState.QUEUED
        assert ticket.first_response_at is not None and ticket.status == TicketStatus.OPEN


def test_a_note_stays_internal_and_is_no_first_response(client, login, open_ticket, app):
    login()
    ticket_id = open_ticket()
    client.post(f"/tickets/{ticket_id}/messages", data={"text": "Check stock", "note": "Add"})
    page = client.get(f"/tickets/{ticket_id}")
    assert "Internal note" in page.text and "Check stock" in page.text
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert ticket.messages[-1].direction == Direction.NOTE
        assert ticket.first_response_at is None


def test_an_empty_reply_gets_a_message_next_to_the_box(client, login, open_ticket, app):
    login()
    ticket_id = open_ticket()
    page = client.post(f"/tickets/{ticket_id}/messages", data={"text": "", "reply": "Send"})
    assert page.status_code == 400
    assert 'id="text-error">Write something first.' in page.text
    with app.app_context():
        assert len(ticket_of(ticket_id).messages) == 1


@pytest.mark.parametrize(
    ("channel", "limit", "what"),
    [("email", 100_000, "an email reply"), ("chat", 5_000, "a chat reply")],
)
def test_a_reply_over_its_channels_limit_gets_a_message_next_to_the_box(
    client, login, open_ticket, app, channel, limit, what
):
    login()
    ticket_id = open_ticket(channel)
    page = client.post(
        f"/tickets/{ticket_id}/messages", data={"text": "x" * (limit + 1), "reply": "Send"}
    )
    assert page.status_code == 400
    assert (
        f'id="text-error">{what} can hold at most {limit:,} characters; this one has' in page.text
    )
    with app.app_context():
        assert len(ticket_of(ticket_id).messages) == 1
    done = client.post(
        f"/tickets/{ticket_id}/messages", data={"text": "x" * limit, "reply": "Send"}
    )
    assert done.status_code == 302
    with app.app_context():
        assert len(ticket_of(ticket_id).messages) == 2


def test_a_note_longer_than_any_mail_is_refused(client, login, open_ticket, app):
    login()
    ticket_id = open_ticket()
    page = client.post(
        f"/tickets/{ticket_id}/messages", data={"text": "x" * 100_001, "note": "Add"}
    )
    assert page.status_code == 400
    assert "can hold at most 100,000 characters" in page.text
    with app.app_context():
        assert len(ticket_of(ticket_id).messages) == 1


def test_properties_change_together_and_each_change_is_audited(
    client, login, open_ticket, app, setup, make_user
):
    me = login(name="Ada Agent")
    with setup():
        colleague = make_user(name="Bo Colleague").id
    ticket_id = open_ticket()
    done = client.post(
        f"/tickets/{ticket_id}/properties",
        data={
            "assignee": str(colleague),
            "status": "pending",
            "priority": "high",
            "stage": "use",
            **AS_OPENED,
        },
    )
    assert done.status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert ticket.assignee_id == colleague
        assert (ticket.status, ticket.priority, ticket.stage) == ("pending", "high", Stage.USE)
        assert ticket.stage_source == StageSource.AGENT
        changes = {(e.kind, e.to_value) for e in ticket.events if e.actor_id == me}
        assert changes == {
            ("assignee", ticket.assignee.email),
            ("status", "pending"),
            ("priority", "high"),
            ("stage", "use"),
        }
    page = client.get(f"/tickets/{ticket_id}")
    assert "changed stage from <b>unknown</b> to <b>use</b>" in page.text


def test_an_unknown_value_is_refused_next_to_its_field(client, login, open_ticket):
    login()
    ticket_id = open_ticket()
    page = client.post(
        f"/tickets/{ticket_id}/properties",
        data={
            "assignee": "",
            "status": "exploded",
            "priority": "normal",
            "stage": "use",
            **AS_OPENED,
        },
    )
    assert page.status_code == 400
    assert 'id="status-error">Not a valid choice' in page.text


def test_the_customer_page_lists_their_tickets_across_channels(client, login, open_ticket, app):
    login()
    ticket_id = open_ticket(sender="ada@customer.test", subject="Mail question")
    with app.app_context():
        customer_id = ticket_of(ticket_id).customer_id
    page = client.get(f"/customers/{customer_id}")
    assert "Mail question" in page.text and "ada@customer.test" in page.text


def test_missing_things_get_a_friendly_404(client, login):
    login()
    for path in ("/tickets/999999", "/customers/999999", "/attachments/999999", "/nowhere"):
        page = client.get(path)
        assert page.status_code == 404 and "Not found" in page.text, path


# --- admin ------------------------------------------------------------------------------------


def test_an_admin_creates_a_user_who_can_log_in(client, login, app):
    login(Role.ADMIN)
    done = client.post(
        "/admin/users/new",
        data={
            "name": "Cy New",
            "email": "Cy@Helpdesk.test",
            "role": "manager",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    assert done.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "cy@helpdesk.test"))
        assert user.role == Role.MANAGER and user.check_password("long enough pw")


def test_new_user_form_errors_sit_next_to_their_fields(client, login, setup, make_user):
    login(Role.ADMIN)
    with setup():
        make_user(email="taken@helpdesk.test")
    page = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": "taken@helpdesk.test",
            "role": "agent",
            "password": "short",
            "confirm": "other",
        },
    )
    assert page.status_code == 200
    assert 'id="password-error">must be at least 12 characters' in page.text
    assert 'id="confirm-error">The passwords differ.' in page.text
    page = client.post(
        "/admin/users/new",
        data={
            "name": "X",
            "email": "taken@helpdesk.test",
            "role": "agent",
            "password": "long enough pw",
            "confirm": "long enough pw",
        },
    )
    assert 'id="email-error">a user with email taken@helpdesk.test already exists' in page.text


def test_admin_changes_role_deactivates_resets_password(client, login, setup, make_user, app):
    login(Role.ADMIN)
    with setup():
        target = make_user(name="Dee").id
    client.post(f"/admin/users/{target}", data={"name": "Dee", "role": "manager", "submit": "1"})
    client.post(
        f"/admin/users/{target}/password",
        data={"pw-password": "brand new secret", "pw-confirm": "brand new secret"},
    )
    with app.app_context():
        user = db.session.get(User, target)
        assert user.role == Role.MANAGER and not user.active
        assert user.check_password("brand new secret")


def test_the_last_admin_cannot_demote_themselves(client, login, app):
    me = login(Role.ADMIN)
    page = client.post(
        f"/admin/users/{me}", data={"name": "Me", "role": "agent", "active": "y", "submit": "1"}
    )
    assert "last active admin" in page.text
    with app.app_context():
        assert db.session.get(User, me).role == Role.ADMIN


def test_tokens_are_minted_shown_once_and_revoked(client, login, app):
    me = login(Role.ADMIN)
    page = client.post("/admin/tokens", data={"user": str(me), "name": "zapier"})
    secret = re.search(r'id="minted-secret">([^<]+)<', page.text).group(1)
    works = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert works.status_code == 200
    assert secret not in client.get("/admin/tokens").text
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "zapier"))
    client.post(f"/admin/tokens/{token_id}/revoke")
    refused = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {secret}"})
    assert refused.status_code == 401


# --- the queue --------------------------------------------------------------------------------


def queue_numbers(page_text: str) -> list[str]:
    return re.findall(r'<span class="num">#(\d+)</span>', page_text)


def test_the_queue_filters_by_the_api_parameter_names(client, login, open_ticket, setup):
    me = login()
    email = open_ticket(subject="Parcel never arrived")
    sms = open_ticket("sms", text="ORDER 12 beans please")
    with setup():
        service.assign(db.session.get(Ticket, sms), None, db.session.get(User, me))
        service.set_stage(db.session.get(Ticket, email), None, "purchase")
    numbers = {}
    with setup():
        numbers = {t.id: str(t.number) for t in db.session.scalars(select(Ticket))}
    for query, expected in (
        ("", [sms, email]),
        ("?channel=sms", [sms]),
        ("?stage=purchase", [email]),
        ("?assignee=me", [sms]),
        ("?assignee=none", [email]),
        ("?q=parcel", [email]),
        ("?status=solved", []),
        ("?priority=normal&channel=email", [email]),
    ):
        page = client.get(f"/tickets{query}")
        assert page.status_code == 200
        assert queue_numbers(page.text) == [numbers[i] for i in expected], query


def test_the_queue_shows_counts_per_status_for_the_other_filters(client, login, open_ticket, setup):
    login()
    first = open_ticket()
    open_ticket()
    open_ticket("sms")
    with setup():
        service.set_status(db.session.get(Ticket, first), None, "solved")
    page = client.get("/tickets?channel=email&status=new")
    counts = dict(
        re.findall(r'>\s*([A-Z][a-z ]+)\s*<span class="count">([\d,+]+)</span>', page.text)
    )
    assert counts["New"] == "1" and counts["Solved"] == "1" and counts["All"] == "2"
    assert counts["Open work"] == "1"


def test_the_queue_pages_with_a_cursor_and_sorts_by_priority(client, login, open_ticket, setup):
    login()
    ids = [open_ticket(subject=f"Request {n}") for n in range(55)]
    with setup():
        service.set_priority(db.session.get(Ticket, ids[0]), None, "urgent")
    first = client.get("/tickets")
    assert len(queue_numbers(first.text)) == 50
    cursor = re.search(r'href="/tickets\?cursor=([^"]+)">Next page', first.text).group(1)
    second = client.get(f"/tickets?cursor={cursor}")
    assert len(queue_numbers(second.text)) == 5
    by_priority = client.get("/tickets?sort=priority")
    assert queue_numbers(by_priority.text)[0] == "1"


def test_a_bad_filter_is_explained_not_a_crash(client, login, open_ticket):
    login()
    open_ticket()
    page = client.get("/tickets?stage=nonsense&created_from=yesterday")
    assert page.status_code == 400
    assert "stage must be one or more of" in page.text and "not &#39;nonsense&#39;" in page.text
    assert 'id="q"' in page.text, "the filters stay on the page to be fixed"
    assert queue_numbers(page.text) == [], "nothing is listed rather than everything"


def test_an_unexpected_error_gets_a_friendly_500_page(client, login, open_ticket, monkeypatch):
    login()
    ticket_id = open_ticket()

    def broken(customer_id: int) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("helpdesk.tickets.queries.customer_tickets", broken)
    page = client.get(f"/tickets/{ticket_id}")
    assert page.status_code == 500
    assert "Something went wrong" in page.text and "on fire" not in page.text


def _failed_reply(ticket_id: int, author_id: int) -> int:
    """A reply the worker gave up on, with the attempt that failed in its log."""
    ticket = ticket_of(ticket_id)
    reply = service.reply(ticket, db.session.get(User, author_id), "Your parcel left today.")
    reply.delivery_state = DeliveryState.FAILED
    reply.attempt_count = 5
    reply.error_code, reply.error_text = "unreachable", "the mail server did not answer"
    db.session.add(
        DeliveryAttempt(message=reply, worker="w1", outcome="failed", error_code="unreachable")
    )
    db.session.flush()
    return reply.id


def test_a_failed_reply_is_sent_again_as_the_same_message(client, login, open_ticket, setup, app):
    me = login(name="Ada Agent")
    ticket_id = open_ticket()
    with setup():
        reply_id = _failed_reply(ticket_id, me)
    page = client.get(f"/tickets/{ticket_id}").text
    assert "Send again" in page

    again = client.post(f"/tickets/{ticket_id}/messages/{reply_id}/retry")
    assert again.status_code == 302
    with app.app_context():
        reply = db.session.get(Message, reply_id)
        assert reply.delivery_state == DeliveryState.QUEUED
        assert (reply.attempt_count, reply.error_code) == (0, None)
        assert [a.outcome for a in reply.attempts] == ["failed"]  # the log keeps what happened
        assert len(ticket_of(ticket_id).messages) == 2  # no second copy
        assert ticket_of(ticket_id).events[-1].kind == "retry"
    assert "sent a failed reply again" in client.get(f"/tickets/{ticket_id}").text
    # Queued now, it cannot be sent again a second time.
    twice = client.post(f"/tickets/{ticket_id}/messages/{reply_id}/retry", follow_redirects=True)
    assert "Not sent again: only a message that failed to go out can be sent again." in twice.text


def test_a_failed_text_to_a_number_that_opted_out_is_not_sent_again(
    client, login, open_ticket, setup, app
):
    me = login(name="Ada Agent")
    ticket_id = open_ticket("sms")
    with setup():
        reply_id = _failed_reply(ticket_id, me)
        identity = phone_identity("+15550002000")
        set_opt_out(identity, "texted STOP", utcnow())
    refused = client.post(
        f"/tickets/{ticket_id}/messages/{reply_id}/retry", follow_redirects=True
    ).text
    assert "Not sent again: +15550002000 opted out of text messages" in refused
    with app.app_context():
        assert db.session.get(Message, reply_id).delivery_state == DeliveryState.FAILED


def test_the_api_sends_a_failed_reply_again(client, setup, open_ticket, make_user, make_token):
    with setup():
        agent = make_user()
        headers = {"Authorization": f"Bearer {make_token(agent)}"}
        agent_id = agent.id
    ticket_id = open_ticket()
    with setup():
        reply_id = _failed_reply(ticket_id, agent_id)

    again = client.post(f"/api/v1/messages/{reply_id}/retry", headers=headers)
    assert again.status_code == 200
    assert (again.get_json()["delivery_state"], again.get_json()["error_code"]) == ("queued", None)
    twice = client.post(f"/api/v1/messages/{reply_id}/retry", headers=headers)
    assert twice.status_code == 422
    assert twice.get_json()["error"]["message"] == (
        "only a message that failed to go out can be sent again"
    )
    assert client.post("/api/v1/messages/999999/retry", headers=headers).status_code == 404
