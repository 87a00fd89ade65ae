"""The customer record agents keep: name and notes, identities, and merging two customers,
through the service, the customer page and the API."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import (
    AuditEvent,
    Customer,
    CustomerIdentity,
    IdentityKind,
    Survey,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from helpdesk.tickets import customer_merges, customer_records, queries, service
from helpdesk.tickets.customer_records import ProfileChange
from helpdesk.tickets.customers import set_opt_out
from helpdesk.tickets.errors import InvalidInput, TicketError


def at(day: int) -> datetime:
    return datetime(2024, 5, day, 12, tzinfo=UTC)


def customer_of(ticket_id: int) -> Customer:
    return db.session.get(Ticket, ticket_id).customer


def audit_rows(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def agent(setup, make_user) -> int:
    with setup():
        return make_user(email="ada@helpdesk.test", name="Ada Agent").id


# --- name and notes ----------------------------------------------------------------------------


def test_an_edit_of_name_and_notes_is_audited_before_and_after(ctx, open_ticket):
    ticket_id = open_ticket(sender="ann@customer.test", sender_name="Ann")
    customer = customer_of(ticket_id)

    changed = customer_records.edit_profile(
        customer, ProfileChange(name="  Ann   Lee ", notes="Prefers mail.\r\nVIP"), 1
    )
    db.session.commit()

    assert changed == {"name": "Ann Lee", "notes": "Prefers mail.\nVIP"}
    assert (customer.name, customer.notes, customer.version) == (
        "Ann Lee",
        "Prefers mail.\nVIP",
        2,
    )
    [row] = audit_rows("customer.changed")
    assert (row.target_type, row.target_id) == ("customer", str(customer.id))
    assert row.before == {"name": "Ann", "notes": None}
    assert row.after == {"name": "Ann Lee", "notes": "Prefers mail.\nVIP"}


def test_a_save_from_a_stale_version_is_refused_and_changes_nothing(ctx, open_ticket):
    customer = customer_of(open_ticket(sender_name="Ann"))
    customer_records.edit_profile(customer, ProfileChange(name="Ann Lee", notes=None), 1)
    db.session.commit()

    with pytest.raises(customer_records.StaleCustomer, match="now version 2"):
        customer_records.edit_profile(customer, ProfileChange(name="Ann", notes="x"), 1)
    db.session.rollback()
    assert (customer.name, customer.notes) == ("Ann Lee", None)
    # Nothing changed is no conflict: a stale page saved as it was does nothing.
    assert customer_records.edit_profile(customer, ProfileChange("Ann Lee", None), 1) == {}


def test_too_long_a_name_is_bad_input(ctx, open_ticket):
    customer = customer_of(open_ticket())
    with pytest.raises(InvalidInput, match="200 characters"):
        customer_records.edit_profile(customer, ProfileChange("x" * 201, None), 1)


# --- identities --------------------------------------------------------------------------------


def test_added_identities_are_normalised_claims_and_audited(ctx, open_ticket):
    customer = customer_of(open_ticket(sender="ann@customer.test"))

    email = customer_records.add_identity(customer, "email", "  Ann.Lee@Work.TEST ")
    phone = customer_records.add_identity(customer, IdentityKind.PHONE, "+1 (555) 010-2000")
    db.session.commit()

    assert (email.value, email.verified) == ("ann.lee@work.test", False)
    assert (phone.value, phone.verified) == ("+15550102000", False)
    added = audit_rows("customer.identity_added")
    assert [row.after["value"] for row in added] == ["ann.lee@work.test", "+15550102000"]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("email", "not-an-address", "not an email address"),
        ("phone", "010-2000", "not a phone number"),
        ("phone", "", "type the number"),
        ("visitor", "visitor-1", "kind must be email or phone"),
    ],
)
def test_what_is_no_address_or_number_is_refused(ctx, open_ticket, kind, value, message):
    customer = customer_of(open_ticket())
    with pytest.raises(InvalidInput, match=message):
        customer_records.add_identity(customer, kind, value)


def test_an_identity_another_customer_holds_is_refused_naming_them(ctx, open_ticket):
    ann = customer_of(open_ticket(sender="ann@customer.test", sender_name="Ann"))
    bob = customer_of(open_ticket(sender="bob@customer.test", sender_name="Bob"))

    with pytest.raises(customer_records.IdentityTaken) as taken:
        customer_records.add_identity(bob, "email", "ANN@customer.test")
    assert taken.value.holder.id == ann.id
    assert "merge the two customers" in str(taken.value)
    with pytest.raises(InvalidInput, match="on this customer already"):
        customer_records.add_identity(ann, "email", "ann@customer.test")


def test_a_phone_number_is_vouched_for_by_hand_and_an_address_only_by_its_link(
    ctx, open_ticket, make_user
):
    user = make_user()
    customer = customer_of(open_ticket(sender="ann@customer.test"))
    phone = customer_records.add_identity(customer, "phone", "+15550102000")
    email = customer_records.add_identity(customer, "email", "ann@work.test")

    customer_records.vouch_for(phone, user)
    with pytest.raises(TicketError, match="proven by the link"):
        customer_records.vouch_for(email, user)
    db.session.commit()

    assert phone.verified and not email.verified
    [row] = audit_rows("customer.identity_verified")
    assert row.after == {
        "identity": phone.id,
        "value": "+15550102000",
        "verified": True,
        "by": user.id,
    }


def test_the_proof_link_goes_out_on_the_customers_email_ticket(ctx, open_ticket, make_user):
    user = make_user()
    ticket_id = open_ticket(sender="ann@customer.test")
    customer = customer_of(ticket_id)
    claim = customer_records.add_identity(customer, "email", "ann@work.test")

    link = customer_records.send_proof_link(claim, user)
    db.session.commit()

    assert (link.ticket_id, link.recipient, link.channel) == (
        ticket_id,
        "ann@work.test",
        Channel.EMAIL,
    )
    assert "/verify/" in link.text and link.auto_submitted


def test_without_an_email_ticket_there_is_no_link_to_send(ctx, open_ticket, make_user):
    customer = customer_of(open_ticket("sms", sender="+15550002000"))
    claim = customer_records.add_identity(customer, "email", "ann@work.test")
    with pytest.raises(TicketError, match="they have none"):
        customer_records.send_proof_link(claim, make_user())


def test_the_address_replies_to_an_open_ticket_go_to_cannot_be_removed(ctx, open_ticket, make_user):
    user = make_user()
    ticket_id = open_ticket(sender="ann@customer.test")
    customer = customer_of(ticket_id)
    other = customer_records.add_identity(customer, "email", "ann@work.test")
    [mail] = [i for i in customer.identities if i.value == "ann@customer.test"]

    with pytest.raises(TicketError, match=r"replies to #1, still new, go to ann@customer\.test"):
        customer_records.remove_identity(mail)
    customer_records.remove_identity(other)
    service.set_status(db.session.get(Ticket, ticket_id), user, TicketStatus.SOLVED)
    customer_records.remove_identity(mail)
    db.session.commit()

    assert customer.identities == []
    removed = audit_rows("customer.identity_removed")
    assert [row.before["value"] for row in removed] == ["ann@work.test", "ann@customer.test"]


def test_a_number_that_opted_out_stays(ctx, open_ticket):
    ticket_id = open_ticket("sms", sender="+15550002000", text="STOP")
    [number] = customer_of(ticket_id).identities
    set_opt_out(number, "texted STOP", at(1))
    with pytest.raises(TicketError, match="opted out of texts"):
        customer_records.remove_identity(number)


# --- merging -----------------------------------------------------------------------------------


def test_a_merge_moves_tickets_surveys_identities_and_chat_visitors(ctx, open_ticket, make_user):
    user = make_user()
    kept_id = open_ticket(sender="ann@customer.test", sender_name="Ann", received_at=at(10))
    mail_id = open_ticket(sender="ann@work.test", received_at=at(3))
    text_id = open_ticket("sms", sender="+15550002000", received_at=at(5))
    chat_id = open_ticket("chat", sender="visitor-9", received_at=at(6))
    target = customer_of(kept_id)
    source = customer_of(mail_id)
    # One person, reached three ways: gather the text and chat customers first.
    customer_merges.merge_customers(customer_of(text_id), source, user)
    customer_merges.merge_customers(customer_of(chat_id), source, user)
    db.session.add(Survey(ticket_id=mail_id, channel=Channel.EMAIL, score=2, answered_at=at(4)))
    db.session.commit()
    versions = {t.id: t.version for t in db.session.scalars(select(Ticket))}

    plan = customer_merges.merge_customers(source, target, user)
    db.session.commit()

    assert [t.id for t in plan.tickets] == [mail_id, text_id, chat_id]
    assert (plan.surveys, plan.chat_visitors) == (1, 1)
    assert {t.id: t.customer_id for t in db.session.scalars(select(Ticket))} == dict.fromkeys(
        (kept_id, mail_id, text_id, chat_id), target.id
    )
    moved = {t.id: t.version for t in db.session.scalars(select(Ticket))}
    assert moved == {**versions, **{i: versions[i] + 1 for i in (mail_id, text_id, chat_id)}}
    assert db.session.scalar(select(Survey)).ticket.customer_id == target.id
    assert sorted(i.value for i in target.identities) == [
        "+15550002000",
        "ann@customer.test",
        "ann@work.test",
        "visitor-9",
    ]
    assert source.identities == [] and source.merged_into_id == target.id
    # Customer since: the earlier first contact, 3 May, not the target's own 10 May.
    assert target.created_at == at(3)
    assert target.name == "Ann"
    event = db.session.scalar(
        select(TicketEvent).where(TicketEvent.ticket_id == mail_id, TicketEvent.kind == "customer")
    )
    assert (event.actor_id, event.to_value) == (user.id, "Ann")
    merged = audit_rows("customer.merged")[-1]
    assert merged.target_id == str(target.id)
    assert merged.after["merged"] == source.id
    assert merged.after["tickets"] == [mail_id, text_id, chat_id]


def test_merged_customers_are_tombstones_left_out_of_the_list_and_search(
    ctx, open_ticket, make_user
):
    user = make_user()
    first = customer_of(open_ticket(sender="ann@customer.test", sender_name="Ann Lee"))
    second = customer_of(open_ticket(sender="lee@work.test", sender_name="Ann Lee"))
    third = customer_of(open_ticket(sender="a.lee@home.test", sender_name="A. Lee"))
    customer_merges.merge_customers(third, second, user)
    customer_merges.merge_customers(second, first, user)
    db.session.commit()

    assert [c.id for c in queries.customer_page("").items] == [first.id]
    assert [c.id for c in queries.customer_page("lee").items] == [first.id]
    # A tombstone of a tombstone leads straight to the living customer.
    assert third.merged_into_id == first.id
    assert customer_merges.live_customer(third) is first


def test_a_merge_into_itself_or_a_merged_customer_is_refused(ctx, open_ticket, make_user):
    user = make_user()
    ann = customer_of(open_ticket(sender="ann@customer.test"))
    bob = customer_of(open_ticket(sender="bob@customer.test"))
    cy = customer_of(open_ticket(sender="cy@customer.test"))
    with pytest.raises(customer_merges.CustomerMergeRefused, match="into themselves"):
        customer_merges.merge_customers(ann, ann, user)
    customer_merges.merge_customers(bob, ann, user)
    with pytest.raises(customer_merges.CustomerMergeRefused, match="merged into customer"):
        customer_merges.merge_customers(cy, bob, user)
    with pytest.raises(customer_merges.CustomerMergeRefused, match="merged into customer"):
        customer_merges.merge_customers(bob, cy, user)


def test_an_identity_both_hold_stays_once_proven_and_unsubscribed(ctx, open_ticket, make_user):
    ann = customer_of(open_ticket(sender="ann@customer.test"))
    chat = customer_of(open_ticket("chat", sender="visitor-2", email="ann@customer.test"))
    claim = next(i for i in chat.identities if i.kind == IdentityKind.EMAIL)
    assert not claim.verified

    unsubscribed = datetime(2026, 5, 3, tzinfo=UTC)
    next(i for i in ann.identities).outreach_unsubscribed_at = unsubscribed

    customer_merges.merge_customers(ann, chat, make_user())
    db.session.commit()

    emails = [i for i in chat.identities if i.kind == IdentityKind.EMAIL]
    assert [(i.value, i.verified) for i in emails] == [("ann@customer.test", True)]
    # Unsubscribed from outreach on either copy: unsubscribed after the merge.
    assert emails[0].outreach_unsubscribed_at == unsubscribed
    assert (
        db.session.scalar(select(CustomerIdentity).where(CustomerIdentity.customer_id == ann.id))
        is None
    )


# --- the customer page -------------------------------------------------------------------------


def test_an_agent_edits_name_and_notes_on_the_customer_page(client, login, open_ticket, setup):
    login()
    ticket_id = open_ticket(sender_name="Ann")
    with setup():
        customer_id = customer_of(ticket_id).id

    response = client.post(
        f"/customers/{customer_id}/profile",
        data={"name": "Ann Lee", "notes": "Call after 5pm", "version": "1"},
        follow_redirects=True,
    )
    assert "Name and notes saved." in response.text
    assert "Call after 5pm" in response.text
    with setup():
        [row] = audit_rows("customer.changed")
        assert row.actor.name.startswith("Agent")


def test_a_second_agent_saving_from_a_stale_page_is_told_and_keeps_what_they_typed(
    client, login, open_ticket, setup
):
    login()
    ticket_id = open_ticket(sender_name="Ann")
    with setup():
        customer_id = customer_of(ticket_id).id
    first = {"name": "Ann Lee", "notes": "", "version": "1"}
    assert client.post(f"/customers/{customer_id}/profile", data=first).status_code == 302

    stale = {"name": "Ann", "notes": "Likes the grinder", "version": "1"}
    response = client.post(f"/customers/{customer_id}/profile", data=stale)

    assert response.status_code == 409
    assert "Someone else saved this customer while you were editing" in response.text
    assert "Likes the grinder" in response.text
    assert 'name="version" type="hidden" value="2"' in response.text
    with setup():
        assert (db.session.get(Customer, customer_id).name, customer_of(ticket_id).notes) == (
            "Ann Lee",
            None,
        )


def test_adding_an_address_another_customer_has_offers_the_merge(client, login, open_ticket, setup):
    login()
    ann_ticket = open_ticket(sender="ann@customer.test", sender_name="Ann")
    bob_ticket = open_ticket(sender="bob@customer.test", sender_name="Bob")
    with setup():
        ann_id, bob_id = customer_of(ann_ticket).id, customer_of(bob_ticket).id

    response = client.post(
        f"/customers/{bob_id}/identities", data={"kind": "email", "value": "Ann@Customer.test"}
    )

    assert response.status_code == 400
    assert "ann@customer.test belongs to Ann" in response.text
    assert f'action="/customers/{ann_id}/merge"' in response.text
    assert "Preview merging Ann into this customer" in response.text
    assert 'value="Ann@Customer.test"' in response.text


def test_a_bad_number_is_named_next_to_the_field(client, login, open_ticket, setup):
    login()
    ticket_id = open_ticket()
    with setup():
        customer_id = customer_of(ticket_id).id
    response = client.post(
        f"/customers/{customer_id}/identities", data={"kind": "phone", "value": "12"}
    )
    assert response.status_code == 400
    assert 'id="value-error"' in response.text and "not a phone number" in response.text.lower()


def test_removing_an_identity_twice_says_it_is_gone(client, login, open_ticket, setup):
    login()
    ticket_id = open_ticket(sender="ann@customer.test")
    with setup():
        customer = customer_of(ticket_id)
        claim = customer_records.add_identity(customer, "email", "ann@work.test")
        customer_id, claim_id = customer.id, claim.id
    url = f"/customers/{customer_id}/identities/{claim_id}/remove"

    assert "ann@work.test removed." in client.post(url, follow_redirects=True).text
    again = client.post(url, follow_redirects=True)
    assert "not on this customer any more" in again.text


def test_an_agent_merges_two_customers_after_a_preview(client, login, open_ticket, setup):
    login()
    ann_ticket = open_ticket(sender="ann@customer.test", sender_name="Ann", received_at=at(8))
    old_ticket = open_ticket(sender="ann@old.test", sender_name="Ann", received_at=at(2))
    with setup():
        ann_id, old_id = customer_of(ann_ticket).id, customer_of(old_ticket).id

    preview = client.post(f"/customers/{old_id}/merge", data={"into": "ann@customer.test"})
    assert preview.status_code == 200
    assert "What moves" in preview.text and "1 ticket" in preview.text
    assert "ann@old.test" in preview.text and "customer since 02 May 2024" in preview.text
    with setup():
        assert customer_of(old_ticket).id == old_id  # nothing merged yet

    done = client.post(
        f"/customers/{old_id}/merge",
        data={"into": str(ann_id), "confirm": "1"},
        follow_redirects=True,
    )
    assert "Ann was merged into Ann." in done.text
    assert "Customer since 02 May 2024" in done.text
    old_link = client.get(f"/customers/{old_id}")
    assert old_link.status_code == 302 and old_link.location == f"/customers/{ann_id}"
    # A second agent confirming the same merge from their preview is told, and nothing moves.
    again = client.post(
        f"/customers/{old_id}/merge",
        data={"into": str(ann_id), "confirm": "1"},
        follow_redirects=True,
    )
    assert "This customer was merged into Ann: nothing was changed." in again.text
    # A form posted from the merged customer's old page changes nothing.
    stale = client.post(
        f"/customers/{old_id}/profile", data={"name": "X", "notes": "", "version": "1"}
    )
    assert stale.status_code == 302
    with setup():
        assert db.session.get(Customer, ann_id).name == "Ann"


def test_a_merge_search_with_several_matches_offers_a_choice(client, login, open_ticket, setup):
    login()
    ids = [
        open_ticket(sender=f"{who}@customer.test", sender_name=f"{who.title()} Lee")
        for who in ("ann", "bob", "cy")
    ]
    with setup():
        source = customer_of(ids[0]).id
    response = client.post(f"/customers/{source}/merge", data={"into": "lee"})
    assert "Several customers match" in response.text
    assert "Bob Lee" in response.text and "Cy Lee" in response.text
    missing = client.post(f"/customers/{source}/merge", data={"into": "nobody@nowhere.test"})
    assert missing.status_code == 400 and "No other customer matches" in missing.text
    itself = client.post(f"/customers/{source}/merge", data={"into": str(source)})
    assert itself.status_code == 400


# --- the API -----------------------------------------------------------------------------------


@pytest.fixture
def headers(setup, make_user, make_token) -> dict[str, str]:
    with setup():
        return {"Authorization": f"Bearer {make_token(make_user())}"}


def error_of(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


def test_the_api_edits_a_customer_and_refuses_a_stale_version(client, headers, open_ticket, setup):
    ticket_id = open_ticket(sender_name="Ann")
    with setup():
        customer_id = customer_of(ticket_id).id
    url = f"/api/v1/customers/{customer_id}"

    body = client.patch(url, json={"notes": "VIP", "version": 1}, headers=headers).get_json()
    assert (body["name"], body["notes"], body["version"]) == ("Ann", "VIP", 2)
    assert error_of(client.patch(url, json={"name": "B", "version": 1}, headers=headers)) == (
        412,
        "stale",
    )
    assert error_of(client.patch(url, json={"name": 5}, headers=headers)) == (400, "invalid")
    assert error_of(client.patch(url, json={"nick": "A"}, headers=headers)) == (
        400,
        "invalid",
    )
    with setup():
        api_writes = audit_rows("api.update_customer")
        assert len(api_writes) == 1 and api_writes[0].token_id is not None
        assert audit_rows("customer.changed")[0].after == {"notes": "VIP"}


def test_the_api_adds_and_removes_identities(client, headers, open_ticket, setup):
    ticket_id = open_ticket(sender="ann@customer.test")
    other = open_ticket(sender="bob@customer.test")
    with setup():
        customer_id, bob_id = customer_of(ticket_id).id, customer_of(other).id
    url = f"/api/v1/customers/{customer_id}/identities"

    added = client.post(url, json={"kind": "phone", "value": "+1 555 010 2000"}, headers=headers)
    assert added.status_code == 201
    [phone] = [i for i in added.get_json()["identities"] if i["kind"] == "phone"]
    assert (phone["value"], phone["verified"]) == ("+15550102000", False)
    taken = client.post(url, json={"kind": "email", "value": "bob@customer.test"}, headers=headers)
    assert error_of(taken) == (409, "refused")
    assert taken.get_json()["error"]["details"] == {"customer": bob_id}
    assert error_of(client.post(url, json={"kind": "email", "value": "x"}, headers=headers)) == (
        422,
        "invalid_input",
    )

    removed = client.delete(f"{url}/{phone['id']}", headers=headers)
    assert [i["value"] for i in removed.get_json()["identities"]] == ["ann@customer.test"]
    mail_id = removed.get_json()["identities"][0]["id"]
    assert error_of(client.delete(f"{url}/{mail_id}", headers=headers)) == (422, "refused")
    assert error_of(client.delete(f"{url}/{phone['id']}", headers=headers)) == (404, "not_found")


def test_the_api_merges_customers(client, headers, open_ticket, setup):
    ann_ticket = open_ticket(sender="ann@customer.test", sender_name="Ann", received_at=at(9))
    old_ticket = open_ticket(sender="ann@old.test", received_at=at(1))
    with setup():
        ann_id, old_id = customer_of(ann_ticket).id, customer_of(old_ticket).id
        version = db.session.get(Ticket, old_ticket).version

    merged = client.post(
        f"/api/v1/customers/{old_id}/merge", json={"into": ann_id}, headers=headers
    )
    assert merged.status_code == 200
    body = merged.get_json()
    assert body["id"] == ann_id
    assert body["created_at"].startswith("2024-05-01")
    assert sorted(t["id"] for t in body["tickets"]) == sorted([ann_ticket, old_ticket])
    assert client.get(f"/api/v1/customers/{old_id}", headers=headers).get_json()["id"] == ann_id
    with setup():
        assert db.session.get(Ticket, old_ticket).version == version + 1

    def merge(source: int, into: int):
        return client.post(
            f"/api/v1/customers/{source}/merge", json={"into": into}, headers=headers
        )

    assert error_of(merge(ann_id, ann_id)) == (409, "refused")
    assert error_of(merge(ann_id, old_id)) == (409, "refused")
    assert error_of(merge(old_id, ann_id)) == (409, "refused")
    assert error_of(merge(999_999, ann_id)) == (404, "not_found")
    assert error_of(merge(ann_id, 999_999)) == (404, "not_found")
    assert error_of(
        client.patch(f"/api/v1/customers/{old_id}", json={"name": "X"}, headers=headers)
    ) == (409, "refused")
    listed = client.get("/api/v1/customers", headers=headers).get_json()
    assert [c["id"] for c in listed["items"]] == [ann_id]


def test_erasing_a_customer_blanks_the_customers_merged_into_them_and_ends_their_record(
    ctx, open_ticket, make_user
):
    from helpdesk.privacy import erase_customer

    user = make_user()
    ann = customer_of(open_ticket(sender="ann@customer.test"))
    old = customer_of(open_ticket(sender="ann.old@customer.test"))
    bob = customer_of(open_ticket(sender="bob@customer.test"))
    old.name, ann.notes = "Ann Oldname", "Prefers calls after 5pm"
    customer_merges.merge_customers(old, ann, user)
    db.session.commit()

    erase_customer(ann)
    db.session.commit()

    assert (ann.name, ann.notes) == ("Erased customer", None)
    assert (old.name, old.notes, old.erased_at is not None) == ("Erased customer", None, True)
    with pytest.raises(customer_merges.CustomerMergeRefused, match="was erased"):
        customer_merges.merge_customers(bob, ann, user)
    with pytest.raises(TicketError, match="was erased"):
        customer_records.add_identity(ann, "email", "ann.new@customer.test")
    with pytest.raises(TicketError, match="was erased"):
        customer_records.edit_profile(ann, ProfileChange("Ann", None), None)
