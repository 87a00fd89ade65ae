"""Ticket versions: nothing a colleague, a customer or an integration changed is overwritten.

The web tests submit the ticket page's forms the way a browser does: every field the page
renders, with the values it renders, changed only where the agent changes them.
"""

from __future__ import annotations

import threading
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import Direction, Message, Priority, Stage, Ticket, TicketStatus, User
from helpdesk.tickets import service

LONG_SMS = "x" * 1601


class _Forms(HTMLParser):
    """Every form of a page: its action and what a browser would submit, submit buttons aside."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms or "name" not in a:
            if tag == "option" and self._select is not None:
                self._option(a)
        elif tag == "input" and a.get("type") not in ("submit", "checkbox", "radio"):
            self.forms[-1][1][a["name"]] = a.get("value", "")
        elif tag == "select":
            self._select = a["name"]
        elif tag == "textarea":
            self._textarea = a["name"]
            self.forms[-1][1][a["name"]] = ""

    def _option(self, a: dict[str, str]) -> None:
        fields = self.forms[-1][1]
        # The first option unless one is marked selected, as a browser does.
        if self._select not in fields or "selected" in a:
            fields[self._select] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.forms[-1][1][self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_on(html: str, action_end: str) -> list[dict[str, str]]:
    """What each of the page's forms posting to ``…action_end`` submits as rendered."""
    parser = _Forms()
    parser.feed(html)
    found = [fields for action, fields in parser.forms if action.endswith(action_end)]
    assert found, f"no form posting to …{action_end} on the page"
    return found


def form_on(html: str, action_end: str) -> dict[str, str]:
    """The last such form: the sidebar's comes after a conflict box's buttons."""
    return forms_on(html, action_end)[-1]


def ticket_of(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


def properties_of(ticket: Ticket) -> tuple:
    return (ticket.assignee_id, ticket.status, ticket.priority, ticket.stage)


def version_of(app, ticket_id: int) -> int:
    with app.app_context():
        return ticket_of(ticket_id).version


# --- the version itself ------------------------------------------------------------------------


def test_every_kind_of_change_moves_the_version_up_by_exactly_one(
    app, setup, inbound, make_user, open_ticket
):
    with setup():
        agent_id = make_user().id
    ticket_id = open_ticket(subject="Broken grinder", sender="cy@customer.test")
    assert version_of(app, ticket_id) == 1

    def change(write) -> int:
        with setup():
            write(ticket_of(ticket_id), db.session.get(User, agent_id))
        return version_of(app, ticket_id)

    # The customer writes again (threaded by the subject token of our ticket number).
    number = ticket_of_number(app, ticket_id)
    again = inbound(subject=f"Re: Broken grinder [#{number}]", sender="cy@customer.test")
    assert change(lambda t, a: service.receive(again)) == 2
    # A reply also opens the ticket and stamps the first response: still one change.
    assert change(lambda t, a: service.reply(t, a, "We are on it.")) == 3
    assert change(lambda t, a: service.add_note(t, a, "Spare part ordered.")) == 4
    assert change(lambda t, a: service.set_priority(t, a, "high")) == 5

    def several(ticket: Ticket, agent: User) -> None:
        service.assign(ticket, agent, agent)
        service.set_stage(ticket, agent, "use")
        service.set_status(ticket, agent, "pending")

    assert change(several) == 6
    app.config["HELPDESK_CSAT"] = True
    try:
        # Solving queues the survey question (an automatic message) in the same transaction.
        assert change(lambda t, a: service.set_status(t, a, "solved")) == 7
    finally:
        app.config["HELPDESK_CSAT"] = False
    assert change(lambda t, a: None) == 7, "a transaction that changes nothing moves nothing"


def ticket_of_number(app, ticket_id: int) -> int:
    with app.app_context():
        return ticket_of(ticket_id).number


def test_an_intake_batch_moves_each_ticket_once(app, setup, inbound, open_ticket):
    email_id = open_ticket(subject="Broken grinder", sender="cy@customer.test")
    chat_id = open_ticket("chat", sender="visitor-3", conversation_id="conv-3")
    sms_id = open_ticket("sms", sender="+15550002003")
    number = ticket_of_number(app, email_id)
    follow_ups = [
        inbound(subject=f"Re: [#{number}]", sender="cy@customer.test", text="One more thing"),
        inbound("chat", sender="visitor-3", conversation_id="conv-3", text="Hello?"),
        inbound("sms", sender="+15550002003", text="Any news?"),
        inbound(subject=f"Re: [#{number}]", sender="cy@customer.test", text="And another"),
        inbound("sms", sender="+15550002003", text="Hello??"),
        inbound(subject="A new request", sender="di@customer.test"),
    ]
    with setup(), service.intake_batch(follow_ups):
        taken = [service.take(message).message for message in follow_ups]
        assert None not in taken
        db.session.flush()
        new_id = taken[-1].ticket.id
    assert [version_of(app, t) for t in (email_id, chat_id, sms_id)] == [2, 2, 2]
    assert version_of(app, new_id) == 1


def test_a_rolled_back_savepoint_takes_its_version_bump_with_it(app, setup, make_user, open_ticket):
    with setup():
        agent_id = make_user().id
    ticket_id = open_ticket()
    with setup():
        ticket, agent = ticket_of(ticket_id), db.session.get(User, agent_id)
        savepoint = db.session.begin_nested()
        service.add_note(ticket, agent, "Written, then undone")
        savepoint.rollback()
        service.add_note(ticket, agent, "Written for good")
    assert version_of(app, ticket_id) == 2
    with setup():
        savepoint = db.session.begin_nested()
        service.set_priority(ticket_of(ticket_id), None, "urgent")
        savepoint.rollback()
    assert version_of(app, ticket_id) == 2


def test_a_writer_holding_an_old_copy_still_adds_its_own_one(app, setup, make_user, open_ticket):
    with setup():
        agent_id = make_user().id
    ticket_id = open_ticket()
    with app.app_context():
        stale = db.session.get(Ticket, ticket_id)
        assert stale.version == 1
        with app.app_context():  # another request, committed while the first one works
            service.add_note(db.session.get(Ticket, ticket_id), None, "Meanwhile")
            db.session.commit()
        service.set_priority(stale, db.session.get(User, agent_id), "high")
        db.session.commit()
        db.session.remove()
    assert version_of(app, ticket_id) == 3


def test_writers_at_the_same_moment_each_count_once(app, setup, make_user, open_ticket):
    with setup():
        agent_ids = [make_user().id for _ in range(4)]
    ticket_id = open_ticket()
    start = threading.Barrier(len(agent_ids))
    failures: list[BaseException] = []

    def write(agent_id: int) -> None:
        try:
            with app.app_context():
                ticket = db.session.get(Ticket, ticket_id)
                start.wait()
                service.add_note(ticket, db.session.get(User, agent_id), f"note by {agent_id}")
                db.session.commit()
                db.session.remove()
        except BaseException as failure:  # reported below, not lost in the thread
            failures.append(failure)

    threads = [threading.Thread(target=write, args=(agent_id,)) for agent_id in agent_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert version_of(app, ticket_id) == 1 + len(agent_ids)


# --- the ticket page: properties ---------------------------------------------------------------


@pytest.fixture
def worked_ticket(app, setup, login, make_user, open_ticket):
    """A ticket someone already worked on: assigned to the logged-in agent, pending, high, use."""

    def build(channel: str = "email", **fields) -> int:
        me = login(name="Ada Agent")
        ticket_id = open_ticket(channel, **fields)
        with setup():
            ticket, agent = ticket_of(ticket_id), db.session.get(User, me)
            service.assign(ticket, agent, agent)
            service.set_status(ticket, agent, "pending")
            service.set_priority(ticket, agent, "high")
            service.set_stage(ticket, agent, "use")
        return ticket_id

    return build


@pytest.mark.parametrize(
    ("channel", "text"),
    [("email", ""), ("email", "   "), ("sms", LONG_SMS)],
    ids=["empty", "blank", "sms-too-long"],
)
def test_after_a_reply_error_the_sidebar_shows_and_saves_the_current_values(
    app, client, worked_ticket, channel, text
):
    ticket_id = worked_ticket(channel)
    with app.app_context():
        before = properties_of(ticket_of(ticket_id))

    refused = client.post(f"/tickets/{ticket_id}/messages", data={"text": text, "reply": "1"})
    assert refused.status_code == 400
    sidebar = form_on(refused.text, f"/tickets/{ticket_id}/properties")
    assert (sidebar["status"], sidebar["priority"], sidebar["stage"]) == ("pending", "high", "use")
    assert sidebar["assignee"] == str(before[0])

    saved = client.post(f"/tickets/{ticket_id}/properties", data=sidebar)
    assert saved.status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert properties_of(ticket) == before
        assert [e.kind for e in ticket.events][-1] == "stage", "no change was recorded"


def test_after_a_properties_error_the_sidebar_shows_the_current_values(app, client, worked_ticket):
    ticket_id = worked_ticket()
    sidebar = form_on(client.get(f"/tickets/{ticket_id}").text, "/properties")
    refused = client.post(
        f"/tickets/{ticket_id}/properties",
        data={**sidebar, "status": "exploded", "priority": "low"},
    )
    assert refused.status_code == 400
    assert 'id="status-error">Not a valid choice' in refused.text
    again = form_on(refused.text, "/properties")
    assert (again["status"], again["priority"], again["stage"]) == ("pending", "high", "use")
    with app.app_context():
        assert ticket_of(ticket_id).priority == Priority.HIGH


def test_changing_only_the_priority_keeps_a_status_changed_meanwhile(
    app, client, setup, worked_ticket, make_user
):
    ticket_id = worked_ticket()
    sidebar = form_on(client.get(f"/tickets/{ticket_id}").text, "/properties")
    with setup():  # a colleague solves it while the page is open
        colleague = make_user(name="Bo Colleague")
        service.set_status(ticket_of(ticket_id), colleague, "solved")

    saved = client.post(f"/tickets/{ticket_id}/properties", data={**sidebar, "priority": "urgent"})
    assert saved.status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, Priority.URGENT)
        assert ticket.version == 4


def test_changing_a_field_someone_changed_meanwhile_shows_theirs_and_yours(
    app, client, setup, worked_ticket, make_user
):
    ticket_id = worked_ticket()
    sidebar = form_on(client.get(f"/tickets/{ticket_id}").text, "/properties")
    with setup():
        colleague = make_user(name="Bo Colleague")
        service.set_status(ticket_of(ticket_id), colleague, "solved")

    refused = client.post(
        f"/tickets/{ticket_id}/properties",
        data={**sidebar, "status": "open", "priority": "urgent"},
    )
    assert refused.status_code == 409
    page = refused.text
    assert "Theirs (now)" in page and "Yours" in page
    row = page[page.index('<th scope="row">Status</th>') :].split("</tr>")[0]
    assert "<b>Solved</b>" in row and "Bo Colleague" in row and "<b>Open</b>" in row
    assert "Your other change (Priority) was not saved either." in page
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, Priority.HIGH)
    # The sidebar below shows the ticket as it is now.
    current = form_on(page, "/properties")
    assert (current["status"], current["priority"]) == ("solved", "high")

    # "Keep theirs" saves only the other change; "Apply mine anyway" saves both.
    mine, keep, _ = forms_on(page, "/properties")
    assert (mine["status"], mine["priority"]) == ("open", "urgent")
    assert (keep["status"], keep["priority"]) == ("solved", "urgent")
    assert client.post(f"/tickets/{ticket_id}/properties", data=keep).status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.status, ticket.priority) == (TicketStatus.SOLVED, Priority.URGENT)


def test_applying_mine_anyway_overwrites_only_what_the_agent_changed(
    app, client, setup, worked_ticket, make_user
):
    ticket_id = worked_ticket()
    sidebar = form_on(client.get(f"/tickets/{ticket_id}").text, "/properties")
    with setup():
        colleague = make_user(name="Bo Colleague")
        service.set_stage(ticket_of(ticket_id), colleague, "advocacy")
        service.set_priority(ticket_of(ticket_id), colleague, "low")

    refused = client.post(f"/tickets/{ticket_id}/properties", data={**sidebar, "stage": "purchase"})
    assert refused.status_code == 409
    mine = forms_on(refused.text, "/properties")[0]
    assert client.post(f"/tickets/{ticket_id}/properties", data=mine).status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.stage, ticket.priority) == (Stage.PURCHASE, Priority.LOW)


def test_two_agents_saving_the_same_field_at_once_get_one_save_and_one_conflict(
    app, setup, make_user, open_ticket
):
    ticket_id = open_ticket()
    agents = []
    for name in ("Ada Agent", "Bo Colleague"):
        with setup():
            email = make_user(name=name).email
        agent = app.test_client()
        agent.post("/login", data={"email": email, "password": "correct horse battery"})
        agents.append(agent)
    forms = [form_on(agent.get(f"/tickets/{ticket_id}").text, "/properties") for agent in agents]
    start = threading.Barrier(2)
    answers: list[int] = []

    def save(agent, form: dict[str, str], status: str) -> None:
        start.wait()
        answer = agent.post(f"/tickets/{ticket_id}/properties", data={**form, "status": status})
        answers.append(answer.status_code)

    threads = [
        threading.Thread(target=save, args=(agent, form, status))
        for agent, form, status in zip(agents, forms, ("pending", "solved"), strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [302, 409]
    with app.app_context():
        assert [e.kind for e in ticket_of(ticket_id).events] == ["created", "status"]


def test_a_form_without_its_version_saves_nothing(app, client, worked_ticket):
    ticket_id = worked_ticket()
    page = client.post(
        f"/tickets/{ticket_id}/properties",
        data={"assignee": "", "status": "new", "priority": "low", "stage": "awareness"},
    )
    assert page.status_code == 400
    assert "This form was out of date and nothing was saved." in page.text
    with app.app_context():
        assert ticket_of(ticket_id).status == TicketStatus.PENDING


def test_a_deactivated_assignee_is_kept_when_the_agent_changes_something_else(
    app, client, setup, login, open_ticket, make_user
):
    login()
    ticket_id = open_ticket()
    with setup():
        leaver = make_user(name="Lee Leaver")
        service.assign(ticket_of(ticket_id), None, leaver)
        leaver.active = False
        leaver_id = leaver.id
    sidebar = form_on(client.get(f"/tickets/{ticket_id}").text, "/properties")
    assert sidebar["assignee"] == str(leaver_id)
    client.post(f"/tickets/{ticket_id}/properties", data={**sidebar, "priority": "high"})
    with app.app_context():
        assert ticket_of(ticket_id).assignee_id == leaver_id


# --- the ticket page: replies and notes --------------------------------------------------------


@pytest.mark.parametrize("button", ["reply", "note"])
def test_a_reply_after_newer_customer_messages_waits_for_confirmation(
    app, client, setup, login, open_ticket, inbound, button
):
    login(name="Ada Agent")
    ticket_id = open_ticket(subject="Broken grinder", sender="cy@customer.test")
    composer = form_on(client.get(f"/tickets/{ticket_id}").text, "/messages")
    with setup():
        number = ticket_of(ticket_id).number
        service.receive(
            inbound(subject=f"Re: [#{number}]", sender="cy@customer.test", text="Never mind!")
        )

    held = client.post(
        f"/tickets/{ticket_id}/messages",
        data={**composer, "text": "Sending a new one.", button: "1"},
    )
    assert held.status_code == 409
    assert "Not sent yet." in held.text and "Never mind!" in held.text
    again = form_on(held.text, "/messages")
    assert again["text"].strip() == "Sending a new one."
    assert again["confirm"] == "1"
    with app.app_context():
        assert len(ticket_of(ticket_id).messages) == 2

    sent = client.post(f"/tickets/{ticket_id}/messages", data={**again, button: "1"})
    assert sent.status_code == 302
    with app.app_context():
        assert ticket_of(ticket_id).messages[-1].text == "Sending a new one."


def test_a_colleagues_note_holds_a_reply_but_my_own_does_not(
    app, client, setup, login, open_ticket, make_user
):
    me = login()
    ticket_id = open_ticket()
    composer = form_on(client.get(f"/tickets/{ticket_id}").text, "/messages")
    with setup():
        service.add_note(ticket_of(ticket_id), db.session.get(User, me), "Mine, elsewhere")
    sent = client.post(
        f"/tickets/{ticket_id}/messages", data={**composer, "text": "Hi", "reply": "1"}
    )
    assert sent.status_code == 302

    composer = form_on(client.get(f"/tickets/{ticket_id}").text, "/messages")
    with setup():
        service.add_note(ticket_of(ticket_id), make_user(name="Bo Colleague"), "Refund is done!")
    held = client.post(
        f"/tickets/{ticket_id}/messages", data={**composer, "text": "Hi", "reply": "1"}
    )
    assert held.status_code == 409
    assert "Bo Colleague (internal note)" in held.text


def test_the_chat_page_reply_hears_of_newer_messages_as_json(
    app, client, setup, login, open_ticket, inbound
):
    login()
    ticket_id = open_ticket("chat", sender="visitor-9", conversation_id="conv-9")
    composer = form_on(client.get(f"/tickets/{ticket_id}").text, "/messages")
    with setup():
        newer = service.receive(
            inbound("chat", sender="visitor-9", conversation_id="conv-9", text="Still there?")
        )
        newer_id = newer.id
    held = client.post(
        f"/tickets/{ticket_id}/messages",
        data={**composer, "text": "Yes!", "reply": "1"},
        headers={"Accept": "application/json"},
    )
    assert held.status_code == 409
    assert held.get_json() == {"newer_messages": [newer_id], "seen_message_id": newer_id}

    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={**composer, "seen_message_id": str(newer_id), "text": "Yes!", "reply": "1"},
        headers={"Accept": "application/json"},
    )
    assert sent.status_code == 201
    answer = sent.get_json()
    assert answer["properties"]["status"] == "open"
    assert answer["version"] == version_of(app, ticket_id)


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def api(setup, make_user, make_token) -> tuple[int, dict[str, str]]:
    """An API caller: their user id and headers."""
    with setup():
        user = make_user(name="Integration", email="int@helpdesk.test")
        return user.id, {"Authorization": f"Bearer {make_token(user)}"}


def test_the_api_answers_the_version_as_an_etag_and_honours_if_match(
    app, client, setup, api, open_ticket
):
    _, headers = api
    ticket_id = open_ticket()
    url = f"/api/v1/tickets/{ticket_id}"
    got = client.get(url, headers=headers)
    assert got.headers["ETag"] == f'"{ticket_id}-1"'
    assert got.get_json()["version"] == 1

    changed = client.patch(
        url, json={"priority": "high"}, headers={**headers, "If-Match": got.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert changed.headers["ETag"] == f'"{ticket_id}-2"'
    assert changed.get_json()["version"] == 2

    # The old ETag is stale now: nothing applies.
    stale = client.patch(
        url, json={"status": "solved"}, headers={**headers, "If-Match": got.headers["ETag"]}
    )
    assert stale.status_code == 412
    assert stale.get_json()["error"]["code"] == "stale"
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.status, ticket.version) == (TicketStatus.NEW, 2)

    # Without If-Match the write applies.
    assert client.patch(url, json={"status": "solved"}, headers=headers).status_code == 200
    assert version_of(app, ticket_id) == 3


def test_two_patches_with_the_same_etag_at_once_apply_only_one(app, api, open_ticket):
    _, headers = api
    ticket_id = open_ticket()
    url = f"/api/v1/tickets/{ticket_id}"
    etag = app.test_client().get(url, headers=headers).headers["ETag"]
    start = threading.Barrier(2)
    answers: list[int] = []

    def patch(priority: str) -> None:
        client = app.test_client()
        start.wait()
        answer = client.patch(
            url, json={"priority": priority}, headers={**headers, "If-Match": etag}
        )
        answers.append(answer.status_code)

    threads = [threading.Thread(target=patch, args=(p,)) for p in ("high", "low")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [200, 412]
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert ticket.version == 2
        assert [e.kind for e in ticket.events] == ["created", "priority"]


def test_a_customer_message_makes_an_etag_stale(app, client, api, open_ticket, setup, inbound):
    _, headers = api
    ticket_id = open_ticket(sender="cy@customer.test")
    etag = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).headers["ETag"]
    with setup():
        number = ticket_of(ticket_id).number
        service.receive(inbound(subject=f"Re: [#{number}]", sender="cy@customer.test"))
    stale = client.patch(
        f"/api/v1/tickets/{ticket_id}",
        json={"priority": "low"},
        headers={**headers, "If-Match": etag},
    )
    assert stale.status_code == 412


def test_patch_writes_only_the_fields_in_its_body(app, client, setup, api, open_ticket, make_user):
    _, headers = api
    ticket_id = open_ticket()
    with setup():
        colleague = make_user(name="Bo Colleague")
        service.set_status(ticket_of(ticket_id), colleague, "pending")
        service.assign(ticket_of(ticket_id), colleague, colleague)
        colleague_id = colleague.id
    body = client.patch(
        f"/api/v1/tickets/{ticket_id}", json={"priority": "urgent"}, headers=headers
    ).get_json()
    assert (body["status"], body["priority"], body["assignee"]["id"]) == (
        "pending",
        "urgent",
        colleague_id,
    )


@pytest.mark.parametrize("kind", ["replies", "notes"])
def test_api_messages_after_seen_message_id_answer_409_until_confirmed(
    app, client, setup, api, open_ticket, inbound, kind
):
    api_user_id, headers = api
    ticket_id = open_ticket(sender="cy@customer.test")
    with setup():
        ticket = ticket_of(ticket_id)
        seen = ticket.messages[-1].id
        # The caller's own note does not count; the customer's new message does.
        service.add_note(ticket, db.session.get(User, api_user_id), "Own note")
        newer = service.receive(
            inbound(subject=f"Re: [#{ticket.number}]", sender="cy@customer.test", text="Hello?")
        ).id
    url = f"/api/v1/tickets/{ticket_id}/{kind}"
    held = client.post(url, json={"text": "Answer", "seen_message_id": seen}, headers=headers)
    assert held.status_code == 409
    error = held.get_json()["error"]
    assert error["code"] == "newer-messages"
    assert [m["id"] for m in error["details"]["messages"]] == [newer]
    assert error["details"]["messages"][0]["text"] == "Hello?"
    with app.app_context():
        assert not db.session.scalars(select(Message).where(Message.text == "Answer")).all()

    seen_now = client.post(url, json={"text": "Answer", "seen_message_id": newer}, headers=headers)
    assert seen_now.status_code == 201
    confirmed = client.post(
        url, json={"text": "Again", "seen_message_id": seen, "confirm": True}, headers=headers
    )
    assert confirmed.status_code == 201


@pytest.mark.parametrize(
    "body", [{"seen_message_id": "7"}, {"seen_message_id": True}, {"confirm": "yes"}]
)
def test_api_message_checks_refuse_bad_values(client, api, open_ticket, body):
    _, headers = api
    ticket_id = open_ticket()
    refused = client.post(
        f"/api/v1/tickets/{ticket_id}/replies", json={"text": "Hi", **body}, headers=headers
    )
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "invalid"


def test_the_openapi_document_describes_versions(client):
    document = client.get("/api/v1/openapi.json").get_json()
    ticket = document["paths"]["/api/v1/tickets/{ticket_id}"]
    assert "ETag" in ticket["get"]["responses"]["200"]["headers"]
    assert "ETag" in ticket["patch"]["responses"]["200"]["headers"]
    assert "412" in ticket["patch"]["responses"]
    [if_match] = [p for p in ticket["patch"]["parameters"] if p["name"] == "If-Match"]
    assert (if_match["in"], if_match["required"]) == ("header", False)
    assert "412" in if_match["description"] or "stale" in if_match["description"]
    for kind in ("replies", "notes"):
        assert (
            "409" in document["paths"][f"/api/v1/tickets/{{ticket_id}}/{kind}"]["post"]["responses"]
        )
    text = document["components"]["schemas"]["MessageText"]["properties"]
    assert {"seen_message_id", "confirm"} <= set(text)
    assert "version" in document["components"]["schemas"]["TicketSummary"]["properties"]


# --- one-click actions --------------------------------------------------------------------------


def test_assign_to_me_takes_the_ticket_and_keeps_a_colleagues_change_meanwhile(
    app, client, setup, login, make_user, open_ticket
):
    me = login(name="Ada Agent")
    ticket_id = open_ticket()
    assign_me = forms_on(client.get(f"/tickets/{ticket_id}").text, "/properties")[0]
    with setup():
        service.set_priority(ticket_of(ticket_id), make_user(name="Bo Colleague"), "urgent")

    assert client.post(f"/tickets/{ticket_id}/properties", data=assign_me).status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert (ticket.assignee_id, ticket.priority) == (me, Priority.URGENT)
    # Assigned to me, the page offers it no more.
    assert "Assign to me" not in client.get(f"/tickets/{ticket_id}").text


def test_assign_to_me_never_takes_a_ticket_a_colleague_took_meanwhile(
    app, client, setup, login, make_user, open_ticket
):
    login(name="Ada Agent")
    ticket_id = open_ticket()
    assign_me = forms_on(client.get(f"/tickets/{ticket_id}").text, "/properties")[0]
    with setup():
        colleague = make_user(name="Bo Colleague")
        colleague_id = colleague.id
        service.assign(ticket_of(ticket_id), colleague, colleague)

    refused = client.post(f"/tickets/{ticket_id}/properties", data=assign_me)
    assert refused.status_code == 409
    assert "Bo Colleague" in refused.text
    with app.app_context():
        assert ticket_of(ticket_id).assignee_id == colleague_id


@pytest.mark.parametrize(
    ("button", "status"), [("reply_pending", "pending"), ("reply_solved", "solved")]
)
def test_send_and_set_a_status_in_one_click(app, client, login, open_ticket, button, status):
    login(name="Ada Agent")
    ticket_id = open_ticket()
    composer = form_on(client.get(f"/tickets/{ticket_id}").text, "/messages")
    sent = client.post(
        f"/tickets/{ticket_id}/messages",
        data={**composer, "text": "Your parcel left today.", button: "1"},
    )
    assert sent.status_code == 302
    with app.app_context():
        ticket = ticket_of(ticket_id)
        assert ticket.status == TicketStatus(status)
        assert [m.direction for m in ticket.messages] == [Direction.INBOUND, Direction.OUTBOUND]
        assert [e.kind for e in ticket.events][-2:] == ["reply", "status"]
        assert ticket.version == 2  # one save: the reply and the status together
