"""Merging a ticket into another and splitting one in two (DESIGN.md, "Merge."): what moves,
where later messages thread, whom replies go to, what the reports count, and the API."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.models import AuditEvent, Survey, Ticket, TicketStatus, utcnow
from helpdesk.reports import stage_load as report
from helpdesk.tickets import queries, service

START = utcnow() - timedelta(hours=3)


def at(minutes: int):
    return START + timedelta(minutes=minutes)


def ticket_of(ticket_id: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, ticket_id)


@pytest.fixture
def agent(ctx, make_user):
    return make_user(name="Ada Agent")


# --- merge ------------------------------------------------------------------------------------


def test_a_merge_moves_the_conversation_and_ends_the_source(ctx, agent, inbound):
    receipt = InboundAttachment("receipt.pdf", "application/pdf", b"%PDF receipt")
    target = service.receive(inbound(text="Where is order 1001?", received_at=at(0))).ticket
    source = service.receive(
        inbound(
            subject="Order 1001 again",
            text="Any news?",
            received_at=at(10),
            attachments=(receipt,),
        )
    ).ticket
    service.reply(target, agent, "Looking into it", at=at(20))
    service.set_priority(source, agent, "high", at=at(30))
    db.session.commit()
    number, version = target.number, target.version

    service.merge(source, target, agent)
    db.session.commit()

    target, source = ticket_of(target.id), ticket_of(source.id)
    assert target.number == number and target.version == version + 1
    assert [m.text for m in target.messages] == [
        "Where is order 1001?",
        "Any news?",
        "Looking into it",
    ]
    assert target.messages[1].attachments[0].filename == "receipt.pdf"
    assert target.last_customer_message_at == at(10)
    copied = [(e.kind, e.merged_from_id) for e in target.events if e.merged_from_id]
    assert ("priority", source.id) in copied and ("created", source.id) in copied
    assert target.events[-1].kind == "merged-from" and target.events[-1].to_value == (
        f"#{source.number}"
    )
    assert (source.status, source.merged_into_id, source.messages) == (
        TicketStatus.CLOSED,
        target.id,
        [],
    )
    assert (source.events[-1].kind, source.events[-1].to_value) == (
        "merged-into",
        f"#{target.number}",
    )
    assert source.events[-1].actor_id == agent.id
    # The words of the moved messages find the target.
    found = queries.ticket_page(queries.TicketFilter(q="news"), limit=10).items
    assert target in found


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("itself", "cannot be merged into itself"),
        ("source merged", "was already merged into"),
        ("target merged", "was already merged into"),
        ("target closed", "is closed and takes no more messages"),
    ],
)
def test_merges_the_rules_refuse(ctx, agent, open_ticket, case, message):
    first, second, third = (ticket_of(open_ticket(sender=f"c{n}@customer.test")) for n in range(3))
    if case in ("source merged", "target merged"):
        service.merge(first, third, agent)
    if case == "target closed":
        service.set_status(second, agent, "closed")
    source, target = {
        "itself": (first, first),
        "source merged": (first, second),
        "target merged": (second, first),
        "target closed": (first, second),
    }[case]
    with pytest.raises(service.MergeRefused, match=message):
        service.merge(source, target, agent)


def test_a_merged_ticket_takes_no_replies_notes_or_reopening(ctx, agent, open_ticket):
    source, target = ticket_of(open_ticket()), ticket_of(open_ticket(sender="bo@customer.test"))
    service.merge(source, target, agent)
    assert (
        service.reply_block(source)
        == f"#{source.number} was merged into #{target.number}: reply there"
    )
    with pytest.raises(service.TicketError, match="reply there"):
        service.reply(source, agent, "Hello?")
    with pytest.raises(service.TicketError, match="add the note there"):
        service.add_note(source, agent, "FYI")
    with pytest.raises(service.TicketError, match="stays closed"):
        service.set_status(source, agent, "open")


def test_a_waiting_source_reopens_a_solved_target(ctx, agent, open_ticket):
    target = ticket_of(open_ticket())
    service.set_status(target, agent, "solved")
    db.session.commit()
    source = ticket_of(open_ticket(sender="bo@customer.test"))
    service.merge(source, target, agent)
    assert target.status == TicketStatus.OPEN


# --- threading after a merge ------------------------------------------------------------------


def test_a_reply_to_the_sources_mail_and_its_number_land_on_the_target(ctx, agent, inbound):
    source = service.receive(inbound(external_id="<first@customer.test>")).ticket
    target = service.receive(inbound(subject="Other", sender="ada@customer.test")).ticket
    service.merge(source, target, agent)
    db.session.commit()

    by_reply = service.take(inbound(subject="Re: x", thread_hints=("<first@customer.test>",)))
    by_number = service.take(inbound(subject=f"Re: Help [#{source.number}]"))
    assert by_reply.message.ticket_id == by_number.message.ticket_id == target.id
    # The mail replied to moved with the conversation; the number leads through the merge.
    assert by_number.reason.endswith(f"#{source.number} was merged into #{target.number}")


def test_threading_follows_a_chain_of_merges(ctx, agent, open_ticket, inbound):
    a, b, c = (ticket_of(open_ticket(sender=f"c{n}@customer.test")) for n in range(3))
    service.merge(a, b, agent)
    service.merge(b, c, agent)
    db.session.commit()
    taken = service.take(inbound(sender="c0@customer.test", subject=f"Re: [#{a.number}]"))
    assert taken.message.ticket_id == c.id
    assert taken.reason.endswith(
        f"#{a.number} was merged into #{b.number}; #{b.number} was merged into #{c.number}"
    )


def test_texts_and_chats_of_the_source_land_on_the_target(ctx, agent, inbound):
    text = service.receive(inbound("sms", sender="+15550002001")).ticket
    chat = service.receive(inbound("chat", sender="visitor-9", conversation_id="conv-9")).ticket
    target = service.receive(inbound(sender="ada@customer.test")).ticket
    service.merge(text, target, agent)
    db.session.commit()
    service.merge(chat, target, agent)
    db.session.commit()

    again = service.receive(inbound("sms", sender="+15550002001", text="Still waiting"))
    chatted = service.receive(
        inbound("chat", sender="visitor-9", conversation_id="conv-9", text="Hello?")
    )
    assert again.ticket_id == chatted.ticket_id == target.id


def test_replies_go_to_the_targets_customer_and_the_other_is_copied(ctx, agent, inbound):
    target = service.receive(inbound(sender="ada@customer.test", received_at=at(0))).ticket
    source = service.receive(inbound(sender="bo@customer.test", received_at=at(5))).ticket
    service.merge(source, target, agent)
    assert target.cc == ["bo@customer.test"]
    # Bo writes again, on the thread he knows: still Ada is answered, Bo in copy.
    service.receive(inbound(sender="bo@customer.test", subject=f"Re: [#{source.number}]"))
    reply = service.reply(target, agent, "Both of you: it ships today.")
    assert (reply.recipient, reply.cc) == ("ada@customer.test", ["bo@customer.test"])


def test_a_reply_answers_none_of_the_customers_merged_in_at_any_remove(
    ctx, agent, open_ticket, inbound
):
    a, b, c = (ticket_of(open_ticket(sender=f"c{n}@customer.test")) for n in range(3))
    service.merge(a, b, agent)
    service.merge(b, c, agent)
    db.session.commit()
    # The first ticket's customer writes last, on the thread they know: it lands on c.
    service.receive(inbound(sender="c0@customer.test", subject=f"Re: [#{a.number}]"))
    reply = service.reply(c, agent, "All of you: it ships today.")
    assert reply.recipient == "c2@customer.test"


def test_a_text_ticket_merged_in_is_never_texted(ctx, agent, inbound):
    target = service.receive(inbound("sms", sender="+15550002001", received_at=at(0))).ticket
    source = service.receive(inbound("sms", sender="+15550002002", received_at=at(5))).ticket
    service.merge(source, target, agent)
    assert target.cc == []
    assert service.reply(target, agent, "On its way").recipient == "+15550002001"


# --- reports and surveys ----------------------------------------------------------------------


def test_merged_tickets_are_left_out_of_the_stage_report(ctx, agent, open_ticket, app):
    app.config["HELPDESK_CSAT"] = True
    try:
        source, target = ticket_of(open_ticket()), ticket_of(open_ticket(sender="b@c.test"))
        service.set_status(source, agent, "solved")  # asks the survey
        survey = db.session.scalar(select(Survey).where(Survey.ticket_id == source.id))
        service.answer_survey(survey, 5)
        service.merge(source, target, agent)
        db.session.commit()
    finally:
        app.config["HELPDESK_CSAT"] = False
    today = date.today()
    chosen = report.ReportRange(today - timedelta(days=1), today + timedelta(days=1))
    load = report.stage_load(chosen)
    total = sum(load.cell(stage).arrivals for stage in {s for s, _ in load.cells})
    assert total == 1
    assert all(cell.csat_count == 0 for cell in load.cells.values())
    args = report.drill_down(chosen, "arrivals", None, None)
    drilled = queries.ticket_page(queries.TicketFilter.from_args(args, me=0), limit=10).items
    assert [t.id for t in drilled] == [target.id]


# --- split ------------------------------------------------------------------------------------


def test_a_split_makes_a_linked_ticket_of_a_message_and_those_after_it(ctx, agent, inbound):
    ticket = service.receive(inbound(text="My order is late", received_at=at(0))).ticket
    service.reply(ticket, agent, "Sorry, checking", at=at(5))
    hint = ticket.messages[0].external_id
    later = service.receive(
        inbound(
            subject="Also: invoice",
            text="Can I get an invoice?",
            received_at=at(30),
            thread_hints=(hint,),
        )
    )
    service.add_note(ticket, agent, "Billing question", at=at(31))
    service.reply(ticket, agent, "Invoice attached", at=at(40))
    service.set_stage(ticket, agent, "purchase")
    db.session.commit()

    part = service.split(ticket, later, agent)
    db.session.commit()

    ticket, part = ticket_of(ticket.id), ticket_of(part.id)
    assert [m.text for m in ticket.messages] == ["My order is late", "Sorry, checking"]
    assert [m.text for m in part.messages] == [
        "Can I get an invoice?",
        "Billing question",
        "Invoice attached",
    ]
    assert (part.subject, part.customer_id, part.channel, part.stage, part.endpoint_id) == (
        "Also: invoice",
        ticket.customer_id,
        ticket.channel,
        ticket.stage,
        ticket.endpoint_id,
    )
    assert (part.split_from_id, part.created_at, part.status) == (
        ticket.id,
        at(30),
        TicketStatus.OPEN,
    )
    assert (part.first_response_at, part.first_response_seconds) == (at(40), 600)
    assert part.last_customer_message_at == at(30)
    assert ticket.last_customer_message_at == at(0)
    assert ticket.first_response_at == at(5)
    assert (ticket.events[-1].kind, ticket.events[-1].to_value) == ("split-into", f"#{part.number}")
    assert (part.events[0].kind, part.events[0].to_value) == ("split-from", f"#{ticket.number}")
    assert service.split_into(ticket) == [part]
    assert part in queries.ticket_page(queries.TicketFilter(q="invoice"), limit=10).items


def test_splits_the_rules_refuse(ctx, agent, inbound):
    ticket = service.receive(inbound(received_at=at(0))).ticket
    first = ticket.messages[0]
    service.reply(ticket, agent, "Hi", at=at(1))
    note = service.add_note(ticket, agent, "Only a note", at=at(2))
    with pytest.raises(service.MergeRefused, match="would leave nothing"):
        service.split(ticket, first, agent)
    with pytest.raises(service.MergeRefused, match="only internal notes would move"):
        service.split(ticket, note, agent)


def test_after_a_split_the_next_text_goes_to_the_newest_open_ticket(ctx, agent, inbound):
    ticket = service.receive(inbound("sms", text="Order late", received_at=at(0))).ticket
    later = service.receive(inbound("sms", text="New question", received_at=at(20)))
    part = service.split(ticket, later, agent)
    db.session.commit()
    assert service.receive(inbound("sms", text="More on it")).ticket_id == part.id

    # With the part solved, the still open original takes the next text.
    service.set_status(part, agent, "solved")
    db.session.commit()
    assert service.receive(inbound("sms", text="Back to my order")).ticket_id == ticket.id


# --- the API ----------------------------------------------------------------------------------


@pytest.fixture
def api(setup, make_user, make_token):
    with setup():
        token = make_token(make_user(name="Api Agent"))
    return {"Authorization": f"Bearer {token}"}


def test_the_api_merges_and_answers_the_target_audited(client, api, open_ticket, setup):
    source = open_ticket(sender="ada@customer.test", text="first")
    target = open_ticket(sender="bo@customer.test", text="second")
    answer = client.post(f"/api/v1/tickets/{source}/merge", json={"into": target}, headers=api)
    assert answer.status_code == 200, answer.text
    body = answer.get_json()
    assert (body["id"], body["merged_into"]) == (target, None)
    assert [m["text"] for m in body["messages"]] == ["first", "second"]
    assert body["cc"] == ["ada@customer.test"]
    assert answer.headers["ETag"] == f'"{target}-{body["version"]}"'
    merged = client.get(f"/api/v1/tickets/{source}", headers=api).get_json()
    assert (merged["status"], merged["merged_into"]) == ("closed", target)

    again = client.post(f"/api/v1/tickets/{source}/merge", json={"into": target}, headers=api)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "refused"
    unknown = client.post(f"/api/v1/tickets/{target}/merge", json={"into": 999999}, headers=api)
    assert unknown.status_code == 404
    with setup():
        audited = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.target_type == "ticket", AuditEvent.target_id == str(source)
            )
        )
        assert [(a.action, a.after) for a in audited] == [("api.merge_ticket", {"into": target})]


def test_the_api_splits_and_answers_the_new_ticket(client, api, open_ticket, setup, inbound):
    ticket = open_ticket("sms", text="first")
    with setup():
        later = service.receive(inbound("sms", text="second")).id
        first = db.session.get(Ticket, ticket).messages[0].id
    answer = client.post(f"/api/v1/tickets/{ticket}/split", json={"message_id": later}, headers=api)
    assert answer.status_code == 201, answer.text
    body = answer.get_json()
    assert (body["split_from"], [m["text"] for m in body["messages"]]) == (ticket, ["second"])

    refused = client.post(
        f"/api/v1/tickets/{ticket}/split", json={"message_id": first}, headers=api
    )
    assert refused.status_code == 409 and "nothing" in refused.get_json()["error"]["message"]
    elsewhere = client.post(
        f"/api/v1/tickets/{ticket}/split", json={"message_id": later}, headers=api
    )
    assert elsewhere.status_code == 404


# --- the ticket page --------------------------------------------------------------------------


def test_merging_from_the_ticket_page_asks_first_when_the_customers_differ(
    client, login, open_ticket, setup, inbound
):
    login()
    same = open_ticket(sender="ada@customer.test", text="one")
    source = open_ticket(sender="ada@customer.test", text="two")
    other = open_ticket(sender="bo@customer.test", text="three")
    with setup():
        numbers = {id_: db.session.get(Ticket, id_).number for id_ in (same, source, other)}

    unknown = client.post(f"/tickets/{source}/merge", data={"into": "#99999"})
    assert unknown.status_code == 400 and "There is no ticket #99999." in unknown.text
    typo = client.post(f"/tickets/{source}/merge", data={"into": "abc"})
    assert typo.status_code == 400 and "is no ticket number" in typo.text

    asked = client.post(f"/tickets/{source}/merge", data={"into": str(numbers[other])})
    assert asked.status_code == 200
    assert "These tickets are from different customers." in asked.text
    assert "replies go to bo@customer.test" in asked.text
    with setup():
        assert db.session.get(Ticket, source).merged_into_id is None  # nothing done yet

    done = client.post(
        f"/tickets/{source}/merge", data={"into": str(numbers[other]), "confirm": "1"}
    )
    assert done.status_code == 302 and done.location.endswith(f"/tickets/{other}")
    page = client.get(f"/tickets/{source}").text
    assert f'Merged into <a href="/tickets/{other}">#{numbers[other]}</a>' in page
    assert 'id="composer"' not in page

    # Same customer: no question asked. A merged ticket cannot take another merge.
    direct = client.post(f"/tickets/{same}/merge", data={"into": f"#{numbers[source]}"})
    assert direct.status_code == 400 and "was already merged into" in direct.text
    with setup():
        latest = service.receive(inbound(sender="ada@customer.test", text="four")).ticket
        latest_id, latest_number = latest.id, latest.number
    direct = client.post(f"/tickets/{same}/merge", data={"into": str(latest_number)})
    assert direct.status_code == 302 and direct.location.endswith(f"/tickets/{latest_id}")


def test_splitting_from_a_messages_menu_shows_what_moves_first(
    client, login, open_ticket, setup, inbound
):
    login()
    ticket = open_ticket("sms", text="Order late")
    with setup():
        first = db.session.get(Ticket, ticket).messages[0].id
        later = service.receive(inbound("sms", text="And my invoice?")).id
    page = client.get(f"/tickets/{ticket}").text
    assert page.count("Split from here") == 2

    asked = client.post(f"/tickets/{ticket}/split", data={"message_id": later})
    assert asked.status_code == 200 and "And my invoice?" in asked.text
    done = client.post(f"/tickets/{ticket}/split", data={"message_id": later, "confirm": "1"})
    assert done.status_code == 302
    part_page = client.get(done.location).text
    assert "split from" in part_page and "And my invoice?" in part_page

    at_first = client.post(
        f"/tickets/{ticket}/split", data={"message_id": first}, follow_redirects=True
    )
    assert "Not split: splitting here would leave nothing" in at_first.text


def test_a_reply_from_a_page_opened_before_the_merge_is_refused_and_kept(
    client, login, setup, open_ticket
):
    login()
    source = open_ticket(sender="ann@customer.test", subject="Lamp")
    target = open_ticket(sender="ann@customer.test", subject="Lamp again")
    with setup():
        number = ticket_of(target).number
    client.post(f"/tickets/{source}/merge", data={"into": str(number)})
    page = client.post(f"/tickets/{source}/messages", data={"text": "It ships today", "reply": "1"})
    assert page.status_code == 400
    assert "Not sent:" in page.text and "reply there" in page.text
    assert '<pre class="kept-text">It ships today</pre>' in page.text
    assert f'href="/tickets/{target}">#{number}</a>' in page.text
