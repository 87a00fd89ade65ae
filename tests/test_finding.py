"""Finding things as an agent: the customer list, searching the queue and the API, bad filters."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from test_web import queue_numbers

from helpdesk.extensions import db
from helpdesk.models import Ticket


@pytest.fixture
def api_headers(setup, make_user, make_token) -> dict[str, str]:
    with setup():
        return {"Authorization": f"Bearer {make_token(make_user())}"}


def customer_rows(page_text: str) -> list[tuple[str, str]]:
    """(customer page link, name) of each row of the customer list."""
    return re.findall(r'<td class="subject"><a href="(/customers/\d+)">([^<]+)</a>', page_text)


def number_of(setup, ticket_id: int) -> int:
    with setup():
        return db.session.get(Ticket, ticket_id).number


def test_the_customer_list_shows_everyone_newest_first_with_their_tickets(
    client, login, open_ticket, setup
):
    login()
    first = open_ticket(sender="ann@example.com", sender_name="Ann Lee", subject="Refund please")
    latest = open_ticket(sender="ann@example.com", subject="Card refused")
    open_ticket("sms", sender="+15550101234")
    page = client.get("/customers")
    assert page.status_code == 200
    assert [name for _, name in customer_rows(page.text)] == ["+15550101234", "Ann Lee"]
    assert '<a href="/customers" aria-current="page">Customers</a>' in page.text
    ann = page.text[page.text.index("Ann Lee") :]
    assert "ann@example.com" in ann and '<td data-label="Tickets">2</td>' in ann
    assert f"#{number_of(setup, latest)}</span> Card refused" in ann
    assert f"#{number_of(setup, first)}<" not in ann, "only the latest ticket is shown"
    link = dict((name, href) for href, name in customer_rows(page.text))["Ann Lee"]
    customer = client.get(link)
    assert customer.status_code == 200 and "ann@example.com" in customer.text
    assert "2 tickets" in customer.text


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lee", ["Ann Lee"]),
        ("ANN@example.com", ["Ann Lee"]),
        ("example", ["Ann Lee"]),
        ("+1 (555) 010-1234", ["+15550101234"]),
        ("555-010-1234", ["+15550101234"]),
        ("+15550101234", ["+15550101234"]),
        ("nobody", []),
    ],
)
def test_the_customer_list_searches_name_email_and_phone(client, login, open_ticket, q, expected):
    login()
    open_ticket(sender="ann@example.com", sender_name="Ann Lee")
    open_ticket("sms", sender="+15550101234")
    page = client.get(f"/customers?q={quote(q)}")
    assert page.status_code == 200
    assert [name for _, name in customer_rows(page.text)] == expected
    if not expected:
        assert "Nobody matches" in page.text


def test_the_customer_list_pages(client, login, open_ticket):
    login()
    for n in range(52):
        open_ticket(sender=f"c{n}@example.com")
    first = client.get("/customers")
    assert len(customer_rows(first.text)) == 50
    cursor = re.search(r'href="/customers\?cursor=([^"]+)">Next page', first.text).group(1)
    second = client.get(f"/customers?cursor={cursor}")
    names = {name for _, name in customer_rows(first.text) + customer_rows(second.text)}
    assert len(names) == 52


def test_a_bad_cursor_on_the_customer_list_is_explained(client, login, open_ticket):
    login()
    open_ticket()
    page = client.get("/customers?cursor=nonsense")
    assert page.status_code == 400
    assert "cursor is not one this server handed out" in page.text
    assert customer_rows(page.text) == []


def test_the_queue_finds_a_ticket_by_number_email_and_phone(client, login, open_ticket, setup):
    login()
    refund = open_ticket(sender="ann@example.com", subject="Refund please")
    texted = open_ticket("sms", sender="+15550101234", text="Where is my parcel?")
    open_ticket(sender="bob@example.com", subject="Invoice")
    refund_number, texted_number = number_of(setup, refund), number_of(setup, texted)

    def listed(q: str) -> list[str]:
        page = client.get(f"/tickets?q={quote(q)}")
        assert page.status_code == 200
        return queue_numbers(page.text)

    assert listed(str(refund_number)) == [str(refund_number)]
    assert listed(f"#{texted_number}") == [str(texted_number)]
    assert listed("ann@example.com") == [str(refund_number)]
    assert listed("+1 555 010 1234") == [str(texted_number)]
    assert listed("(555) 010-1234 parc*") == [str(texted_number)]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=opened", "status must be one or more of"),
        ("stage=purchase,bogus", "not &#39;bogus&#39;"),
        ("channel=fax", "channel must be one or more of"),
        ("priority=HIGH", "priority must be one or more of"),
        ("has=luck", "has must be one or more of"),
        ("created_from=yesterday", "created_from must be a date as YYYY-MM-DD"),
        ("created_to=2024-13-01", "created_to must be a date as YYYY-MM-DD"),
        ("assignee=bob", "assignee must be me, none or a user id"),
        ("assignee=999999", "there is no user with id 999999"),
        ("cursor=garbage", "cursor is not one this server handed out"),
        ("sort=oldest", "sort must be one of"),
        ("tag=%21%21", "is no tag"),
        ("q=r*", "a prefix needs at least 2"),
    ],
)
def test_a_bad_queue_filter_says_so_and_lists_nothing(client, login, open_ticket, query, message):
    login()
    open_ticket()
    page = client.get(f"/tickets?{query}")
    assert page.status_code == 400
    assert message in page.text
    assert 'role="alert"' in page.text and "No tickets are listed" in page.text
    assert '<form class="filters"' in page.text, "the filters stay to be fixed"
    assert queue_numbers(page.text) == []


def test_the_api_searches_by_the_same_grammar(client, api_headers, open_ticket, setup):
    texted = open_ticket("sms", sender="+15550101234", text="Where is my parcel?")
    open_ticket(sender="ann@example.com", sender_name="Ann Lee")
    number = number_of(setup, texted)
    for q in (f"#{number}", "555-010-1234", "parc*"):
        answer = client.get(f"/api/v1/tickets?q={quote(q)}", headers=api_headers)
        assert [t["number"] for t in answer.get_json()["items"]] == [number], q
    people = client.get(f"/api/v1/customers?q={quote('+1 (555) 010-1234')}", headers=api_headers)
    assert [c["name"] for c in people.get_json()["items"]] == ["+15550101234"]


@pytest.mark.parametrize(
    ("query", "message"),
    [("q=a*", "a prefix needs at least 2"), ("assignee=999999", "no user with id 999999")],
)
def test_the_api_refuses_a_bad_filter(client, api_headers, query, message):
    answer = client.get(f"/api/v1/tickets?{query}", headers=api_headers)
    assert answer.status_code == 400
    assert message in answer.get_json()["error"]["message"]
