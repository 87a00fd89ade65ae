"""Files on replies: chosen on the ticket page, held to their channel's limit, sent as MIME
parts by email and shown by signed links in the chat widget."""

from __future__ import annotations

import io
from email import message_from_bytes, policy

from mail_servers import sending_mailbox
from sqlalchemy import select

from helpdesk.chat import events
from helpdesk.extensions import db
from helpdesk.models import Attachment, Direction, Message
from helpdesk.outbox import run_due
from helpdesk.tickets.file_links import file_url

PICTURE = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post_reply(
    client, ticket_id: int, *files: tuple[bytes, str], text: str = "See attached.", **extra
):
    data = {"text": text, "reply": "1", **extra}
    data["files"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post(
        f"/tickets/{ticket_id}/messages", data=data, content_type="multipart/form-data"
    )


def outbound(ticket_id: int) -> Message:
    return db.session.scalars(
        select(Message).where(
            Message.ticket_id == ticket_id, Message.direction == Direction.OUTBOUND
        )
    ).one()


def test_an_email_reply_carries_the_files_chosen_on_the_ticket_page(
    client, login, open_ticket, setup, smtp_sink
):
    with setup():
        sending_mailbox(smtp_sink)
    login()
    ticket_id = open_ticket()
    sent = post_reply(client, ticket_id, (b"%PDF-1.7 label", "ярлык доставки.pdf"))
    assert sent.status_code == 302
    with setup():
        assert [a.filename for a in outbound(ticket_id).attachments] == ["ярлык доставки.pdf"]
        assert str(run_due("w1")) == "sent 1, retrying 0, failed 0"
    [envelope] = smtp_sink.received
    [part] = list(message_from_bytes(envelope.content, policy=policy.default).iter_attachments())
    assert (part.get_filename(), part.get_content()) == ("ярлык доставки.pdf", b"%PDF-1.7 label")


def test_files_over_the_channels_limit_are_refused_next_to_the_box(
    client, login, open_ticket, setup
):
    login()
    ticket_id = open_ticket("chat")
    page = post_reply(client, ticket_id, (b"x" * (10 * 1024 * 1024 + 1), "video.mp4"))
    assert page.status_code == 400
    assert "a chat reply can carry at most 10 MB of files; these are 10.0 MB" in page.text
    note = post_reply(client, ticket_id, (b"x", "a.txt"), note="1")
    assert "a note cannot carry files: send them with a reply" in note.text
    with setup():
        assert db.session.scalar(select(Attachment.id)) is None


def test_a_chat_reply_shows_its_files_by_signed_links(client, login, open_ticket, setup):
    login()
    ticket_id = open_ticket("chat", conversation_id="conv-1")
    assert post_reply(client, ticket_id, (PICTURE, "grinder.png")).status_code == 302
    with setup():
        stream = events.Stream(conversation_id="conv-1")
        replayed = events.since(db.session.connection(), stream, 0)
        [data] = [e.data for e in replayed if e.data.get("files")]
        [file] = data["files"]
        attachment = outbound(ticket_id).attachments[0]
        assert file == {"name": "grinder.png", "url": file_url(attachment)}
    client.post("/logout")
    link = file["url"].removeprefix("http://helpdesk.test")
    shown = client.get(link)  # no login: the visitor's browser
    assert (shown.status_code, shown.data, shown.mimetype) == (200, PICTURE, "image/png")
    assert client.get(link[:-3] + "abc").status_code == 404  # altered


def test_a_link_never_reaches_a_file_a_customer_sent(client, setup, inbound):
    from channels.base import InboundAttachment
    from helpdesk.tickets import service

    with setup():
        message = service.receive(
            inbound(attachments=(InboundAttachment("passport.pdf", "application/pdf", b"%PDF"),))
        )
        link = file_url(message.attachments[0]).removeprefix("http://helpdesk.test")
    assert client.get(link).status_code == 404


def test_the_api_sends_files_with_a_multipart_reply(
    client, setup, open_ticket, make_user, make_token
):
    with setup():
        headers = {"Authorization": f"Bearer {make_token(make_user())}"}
    ticket_id = open_ticket()
    url = f"/api/v1/tickets/{ticket_id}/replies"
    sent = client.post(
        url,
        headers=headers,
        content_type="multipart/form-data",
        data={
            "text": "Both labels attached.",
            "cc": "bo@customer.test, carl@customer.test",
            "files": [
                (io.BytesIO(b"%PDF one"), "label 1.pdf"),
                (io.BytesIO(b"%PDF two"), "ラベル2.pdf"),
            ],
        },
    )
    assert sent.status_code == 201, sent.get_json()
    reply = sent.get_json()
    assert [a["filename"] for a in reply["attachments"]] == ["label 1.pdf", "ラベル2.pdf"]
    with setup():
        assert outbound(ticket_id).cc == ["bo@customer.test", "carl@customer.test"]
        [first, _] = outbound(ticket_id).attachments
        first_id = first.id
    download = client.get(f"/api/v1/attachments/{first_id}", headers=headers)
    assert download.data == b"%PDF one"

    too_big = client.post(
        url,
        headers=headers,
        content_type="multipart/form-data",
        data={"text": "Video", "files": [(io.BytesIO(b"x" * (25 * 1024 * 1024 + 1)), "v.mp4")]},
    )
    assert too_big.status_code == 422
    assert "at most 25 MB of files" in too_big.get_json()["error"]["message"]
    not_a_file = client.post(
        url, headers=headers, content_type="multipart/form-data", data={"text": "x", "files": "y"}
    )
    assert not_a_file.status_code == 400
    assert "files" in not_a_file.get_json()["error"]["message"]
