"""Text no database stores (a NUL character, half a surrogate pair) is refused with 400 naming
the field, on every door: API bodies and parameters, page forms, the chat widget, webhooks.
PostgreSQL refused such a macro name with a server error (found by the API fuzz test)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.models import Macro, Role


@pytest.fixture
def admin_headers(setup, make_user, make_token) -> dict[str, str]:
    with setup():
        return {"Authorization": f"Bearer {make_token(make_user(role=Role.ADMIN))}"}


@pytest.mark.parametrize(
    ("name", "text"),
    [("Nul\u0000name", "Hi"), ("Fine", "half \ud83d a pair"), ("Fine", "ok")],
)
def test_an_api_body_with_unstorable_text_is_refused_naming_the_field(
    client, setup, admin_headers, name, text
):
    body = {"name": name, "text": text, "shared": True}
    answer = client.post("/api/v1/macros", json=body, headers=admin_headers)
    if "\u0000" in name or "\ud83d" in text:
        assert answer.status_code == 400
        error = answer.get_json()["error"]
        assert error["code"] == "invalid"
        assert error["details"]["fields"] == ["name" if "\u0000" in name else "text"]
        with setup():
            assert db.session.scalar(select(func.count()).select_from(Macro)) == 0
    else:
        assert answer.status_code == 201, answer.get_json()


def test_a_parameter_with_a_nul_is_refused(client, admin_headers):
    answer = client.get("/api/v1/tickets?q=refund%00", headers=admin_headers)
    assert answer.status_code == 400
    assert answer.get_json()["error"]["details"]["fields"] == ["q"]


def test_a_page_form_with_a_nul_is_refused_not_a_server_error(client, login):
    login(Role.ADMIN)
    answer = client.post("/admin/teams/new", data={"name": "Sup\u0000port"})
    assert answer.status_code == 400
    assert "text may not hold NUL characters" in answer.text


def test_a_twilio_webhook_with_a_nul_gets_a_4xx(client):
    answer = client.post("/webhooks/twilio/sms", data={"Body": "hi\u0000", "From": "+15550001"})
    assert 400 <= answer.status_code < 500


def test_a_request_no_endpoint_takes_is_not_found_whatever_its_body_holds(client):
    """It was answered 400 for the body instead (found by bench/fuzz.py)."""
    nowhere = client.post("/chat/api/nowhere", json={"name": "Nul\u0000"})
    assert nowhere.status_code == 405
    assert client.post("/no/such/page", json={"name": "Nul\u0000"}).status_code == 404
