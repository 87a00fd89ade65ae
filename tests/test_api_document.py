"""The OpenAPI document and the API agree: one set of schemas validates requests, shapes the
responses and makes the document, so an integration can trust what the document says."""

from __future__ import annotations

import re
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator


@pytest.fixture
def document(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


@pytest.fixture
def headers(setup, make_user, make_token) -> dict[str, str]:
    with setup():
        return {"Authorization": f"Bearer {make_token(make_user(role='manager'))}"}


def test_the_document_is_valid_openapi_3_1(document):
    assert document["openapi"].startswith("3.1")
    OpenAPIV31SpecValidator(document).validate()


def test_every_api_route_is_in_the_document(app, document):
    """A route added without an operation would be a part of the API nobody can discover."""
    served = {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert served - documented == set()
    assert documented - served == set()


def _openapi_path(rule: str) -> str:
    """``/api/v1/tickets/<int:ticket_id>`` as OpenAPI writes it: ``/api/v1/tickets/{ticket_id}``."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def conforms(document: dict[str, Any], path: str, method: str, response) -> None:
    """Fail unless the response's status and body are what the document says of them."""
    answers = document["paths"][path][method]["responses"]
    status = str(response.status_code)
    assert status in answers, f"{method.upper()} {path} answered {status}, not documented"
    schema = answers[status]["content"]["application/json"]["schema"]
    validator = OAS31Validator({**schema, "components": document["components"]})
    errors = [error.message for error in validator.iter_errors(response.get_json())]
    assert errors == [], f"{method.upper()} {path} {status}: {errors}"
    for name in answers[status].get("headers", {}):
        assert name in response.headers, f"{method.upper()} {path} {status} lacks {name}"


def test_every_answer_is_the_documented_shape(client, document, headers, open_ticket):
    ticket_id = open_ticket(sender="ada@customer.test", sender_name="Ada")
    sms_id = open_ticket("sms", sender="+15550002001", text="STOP")
    first = client.get(f"/api/v1/tickets/{ticket_id}", headers=headers).get_json()
    customer_id, first_message_id = first["customer"]["id"], first["messages"][0]["id"]
    ticket = "/api/v1/tickets/{ticket_id}"
    customer = "/api/v1/customers/{customer_id}"
    calls = [
        ("/api/v1/tickets", "get", {}, "/api/v1/tickets?limit=1&sort=due"),
        ("/api/v1/tickets", "get", {}, "/api/v1/tickets?status=nope"),
        ("/api/v1/tickets", "get", {}, "/api/v1/tickets?limit=0"),
        (ticket, "get", {}, f"/api/v1/tickets/{ticket_id}"),
        (ticket, "get", {}, f"/api/v1/tickets/{sms_id}"),
        (ticket, "get", {}, "/api/v1/tickets/999999"),
        (
            ticket,
            "patch",
            {"json": {"status": "open", "assignee": None}},
            f"/api/v1/tickets/{ticket_id}",
        ),
        (ticket, "patch", {"json": {"status": "never"}}, f"/api/v1/tickets/{ticket_id}"),
        (ticket, "patch", {"json": {"status": 1}}, f"/api/v1/tickets/{ticket_id}"),
        (
            ticket,
            "patch",
            {"json": {}, "headers": {"If-Match": '"0-0"'}},
            f"/api/v1/tickets/{ticket_id}",
        ),
        (
            f"{ticket}/replies",
            "post",
            {"json": {"text": "Hello"}},
            f"/api/v1/tickets/{ticket_id}/replies",
        ),
        (
            f"{ticket}/notes",
            "post",
            # The text on the other ticket came after the first ticket's message.
            {"json": {"text": "Hi", "seen_message_id": first_message_id}},
            f"/api/v1/tickets/{sms_id}/notes",
        ),
        (f"{ticket}/notes", "post", {"json": {"text": ""}}, f"/api/v1/tickets/{ticket_id}/notes"),
        (
            f"{ticket}/notes",
            "post",
            {"json": {"text": "x", "to": "y"}},
            f"/api/v1/tickets/{ticket_id}/notes",
        ),
        ("/api/v1/customers", "get", {}, "/api/v1/customers?q=ada"),
        ("/api/v1/customers/{customer_id}", "get", {}, f"/api/v1/customers/{customer_id}"),
        (
            customer,
            "patch",
            {"json": {"notes": "Prefers mail"}},
            f"/api/v1/customers/{customer_id}",
        ),
        (
            customer,
            "patch",
            {"json": {"name": "A", "version": 99}},
            f"/api/v1/customers/{customer_id}",
        ),
        (
            f"{customer}/identities",
            "post",
            {"json": {"kind": "phone", "value": "+1 555 010 9999"}},
            f"/api/v1/customers/{customer_id}/identities",
        ),
        (
            f"{customer}/identities",
            "post",
            {"json": {"kind": "fax", "value": "1"}},
            f"/api/v1/customers/{customer_id}/identities",
        ),
        (
            f"{customer}/identities/{{identity_id}}",
            "delete",
            {},
            f"/api/v1/customers/{customer_id}/identities/999999",
        ),
        (
            f"{customer}/merge",
            "post",
            {"json": {"into": customer_id}},
            f"/api/v1/customers/{customer_id}/merge",
        ),
        ("/api/v1/reports/stage-load", "get", {}, "/api/v1/reports/stage-load?channel=sms"),
        ("/api/v1/reports/stage-load", "get", {}, "/api/v1/reports/stage-load?from=2024-13-01"),
    ]
    statuses = set()
    for path, method, kwargs, url in calls:
        response = client.open(
            url,
            method=method.upper(),
            json=kwargs.get("json"),
            headers={**headers, **kwargs.get("headers", {})},
        )
        conforms(document, path, method, response)
        statuses.add(response.status_code)
    conforms(document, "/api/v1/tickets", "get", client.get("/api/v1/tickets"))
    assert statuses >= {200, 201, 400, 404, 409, 412, 422}


# --- validation from the same schemas ----------------------------------------------------------


def test_a_bad_body_names_every_field_at_fault(client, headers, open_ticket):
    ticket_id = open_ticket()
    response = client.patch(
        f"/api/v1/tickets/{ticket_id}",
        json={"status": 3, "priority": "high", "assignee": "me"},
        headers=headers,
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert sorted(error["details"]["fields"]) == ["assignee", "status"]
    assert "status" in error["message"] and "assignee" in error["message"]
    assert "priority" not in error["message"]


def test_bad_query_parameters_are_named_together(client, headers):
    response = client.get("/api/v1/tickets?limit=0&sort=oldest&created_to=May", headers=headers)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert sorted(error["details"]["fields"]) == ["created_to", "limit", "sort"]
    for name in ("limit", "sort", "created_to"):
        assert name in error["message"]


@pytest.mark.parametrize("kind", ["replies", "notes"])
def test_the_api_refuses_what_the_document_rules_out(client, document, headers, open_ticket, kind):
    ticket_id = open_ticket()
    seen = document["components"]["schemas"]["MessageText"]["properties"]["seen_message_id"]
    below = seen["anyOf"][0]["minimum"] - 1
    response = client.post(
        f"/api/v1/tickets/{ticket_id}/{kind}",
        json={"text": "Hi", "seen_message_id": below},
        headers=headers,
    )
    assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid")
    assert "seen_message_id" in response.get_json()["error"]["message"]


def test_descriptions_travel_with_the_schemas(document):
    """What the hand-written document explained is still there for readers."""
    tickets = document["paths"]["/api/v1/tickets"]["get"]
    described = {p["name"]: p["description"] for p in tickets["parameters"]}
    assert "whole word" in described["q"]
    assert "SLA deadline" in described["sort"]
    assert "sla_breach" in described["has"]
    assert "comma-separated" in described["status"]
    patch = document["paths"]["/api/v1/tickets/{ticket_id}"]["patch"]
    assert "stale" in next(p for p in patch["parameters"] if p["name"] == "If-Match")["description"]
    assert "412" in patch["responses"]
    text = document["components"]["schemas"]["MessageText"]["properties"]
    assert "newer-messages" in text["seen_message_id"]["description"]
    code = document["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["description"]
    assert "`invalid`" in code and "newer-messages" in code


def test_ids_beyond_the_databases_are_bad_input_not_server_errors(client, headers, open_ticket):
    ticket_id = open_ticket()
    huge = 2**70
    for response in (
        client.get(f"/api/v1/reports/stage-load?agent={huge}", headers=headers),
        client.get(f"/api/v1/tickets?assignee={huge}", headers=headers),
        client.patch(f"/api/v1/tickets/{ticket_id}", json={"assignee": huge}, headers=headers),
        client.post(
            f"/api/v1/tickets/{ticket_id}/notes",
            json={"text": "Hi", "seen_message_id": huge},
            headers=headers,
        ),
    ):
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["error"]["code"] == "invalid"
