"""Files download under any name: ticket attachments, quarantined originals, CSV exports."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from werkzeug.http import parse_options_header
from werkzeug.serving import make_server

from channels.base import InboundAttachment
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import MailboxSettings, add_mailbox
from helpdesk.models import InboundEmail, IntakeOutcome, Role
from helpdesk.storage import blob_store
from helpdesk.tickets import service
from helpdesk.web.downloads import MAX_NAME_BYTES, content_disposition

NAMES = {
    "cyrillic": "Отчёт за март.pdf",
    "cjk": "報告書 2026年.xlsx",
    "arabic": "تقرير الطلب.docx",
    "emoji": "🎉 party 👨‍👩‍👧.txt",
    "quotes": "He said \"hi\", it's 100% 'done'.txt",
    "accents": "Résumé.pdf",
}


def offered_name(disposition: str) -> str:
    """The file name a browser takes from the header (RFC 6266: filename* before filename)."""
    assert disposition.isascii(), "HTTP headers go out as Latin-1; this must be plain ASCII"
    _, params = parse_options_header(disposition)
    return params["filename"]


def fallback_name(disposition: str) -> str:
    """What a browser that knows no RFC 5987 takes: the plain filename="…"."""
    _, params = parse_options_header(disposition.split("; filename*=")[0])
    return params["filename"]


@pytest.fixture
def attachment_of(setup, inbound):
    """``attachment_of(name, data)``: an attachment on a new ticket; its id."""

    def build(name: str, data: bytes, content_type: str = "application/octet-stream") -> int:
        with setup():
            attachment = InboundAttachment(name, content_type, data)
            return service.receive(inbound(attachments=(attachment,))).attachments[0].id

    return build


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_an_attachment_downloads_under_its_own_name(client, login, attachment_of, name: str):
    login(Role.AGENT)
    data = f"the bytes of {name}".encode()
    response = client.get(f"/attachments/{attachment_of(name, data)}")
    assert response.status_code == 200
    assert response.data == data
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert offered_name(disposition) == name
    fallback = fallback_name(disposition)
    assert fallback.isascii() and not set('"\\/%') & set(fallback)
    assert fallback.endswith(name.rsplit(".", 1)[1])


def test_an_inline_picture_keeps_its_name(client, login, attachment_of):
    login(Role.AGENT)
    picture = attachment_of("фото.png", b"\x89PNG", "image/png")
    response = client.get(f"/attachments/{picture}")
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert offered_name(response.headers["Content-Disposition"]) == "фото.png"


def test_a_very_long_name_is_shortened_keeping_its_start_and_extension(
    client, login, attachment_of
):
    login(Role.AGENT)
    name = "Договор поставки " * 14 + ".pdf"  # 254 characters, 454 bytes in UTF-8
    response = client.get(f"/attachments/{attachment_of(name, b'%PDF')}")
    assert response.status_code == 200 and response.data == b"%PDF"
    offered = offered_name(response.headers["Content-Disposition"])
    assert len(offered.encode()) <= MAX_NAME_BYTES
    assert offered.startswith("Договор поставки Договор") and offered.endswith("….pdf")


def test_dangerous_characters_are_made_safe():
    disposition = content_disposition("../..\\etc/passwd\r\nX-Evil: 1\x00\u202egnp.exe")
    assert offered_name(disposition) == "_.._etc_passwd__X-Evil: 1__gnp.exe"
    assert fallback_name(disposition) == "_.._etc_passwd__X-Evil: 1__gnp.exe"
    assert content_disposition("") == 'attachment; filename="download"'
    assert content_disposition("plain.csv") == 'attachment; filename="plain.csv"'


def test_a_real_server_sends_a_non_latin_name(app, client, login, attachment_of):
    """Served over a socket, as gunicorn does: the header must survive the trip to the wire."""
    login(Role.AGENT)
    attachment_id = attachment_of("Счёт №5.pdf", b"%PDF-1.7")
    cookie = client.get_cookie("session")
    with serving(app) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request(
            "GET", f"/attachments/{attachment_id}", headers={"Cookie": f"session={cookie.value}"}
        )
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == b"%PDF-1.7"
        assert offered_name(response.headers["Content-Disposition"]) == "Счёт №5.pdf"
        connection.close()


@contextmanager
def serving(app) -> Iterator[int]:
    """The app on a real socket (werkzeug's server) for the length of the block; its port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        thread.join()


def test_quarantined_originals_and_csv_exports_use_the_same_header(client, login, setup):
    login(Role.ADMIN)
    with setup():
        mailbox = add_mailbox(MailboxSettings("help@shop.test", "127.0.0.1", "help", "pw"))
        raw = b"Subject: no sender\r\n\r\nwho?\r\n"
        held = InboundEmail(
            mailbox=mailbox,
            uidvalidity=1,
            uid=1,
            dedupe_key="q" * 64,
            raw_ref=blob_store().put(raw),
            size=len(raw),
            outcome=IntakeOutcome.QUARANTINED,
            reason="no sender address",
        )
        db.session.add(held)
        db.session.flush()
        held_id = held.id
    original = client.get(f"/admin/quarantine/{held_id}/original")
    assert original.status_code == 200 and original.data == raw
    assert original.headers["Content-Disposition"] == content_disposition(
        f"quarantined-{held_id}.eml"
    )
    export = client.get("/reports/stages-tickets.csv?from=2026-03-01&to=2026-03-02")
    assert export.status_code == 200
    assert offered_name(export.headers["Content-Disposition"]) == (
        "stage-tickets-2026-03-01-2026-03-02.csv"
    )


def test_the_api_downloads_every_stored_attachment(client, setup, inbound, make_user, make_token):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user())}"}
        message = service.receive(
            inbound(attachments=(InboundAttachment("счёт №7.pdf", "application/pdf", b"%PDF"),))
        )
        attachment_id = message.attachments[0].id
    answer = client.get(f"/api/v1/attachments/{attachment_id}", headers=headers)
    assert answer.status_code == 200
    assert answer.data == b"%PDF"
    assert offered_name(answer.headers["Content-Disposition"]) == "счёт №7.pdf"
    assert client.get(f"/api/v1/attachments/{attachment_id}").status_code == 401
    missing = client.get("/api/v1/attachments/999999", headers=headers)
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
