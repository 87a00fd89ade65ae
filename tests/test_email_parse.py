"""Parsing the .eml corpus in tests/data/email: every shape, charset and client reply style."""

from __future__ import annotations

from pathlib import Path

import pytest

from channels.email.html import sanitize_html
from channels.email.parse import EmailParseError, ParsedEmail, parse_email
from channels.email.quotes import split_reply

CORPUS = Path(__file__).parent / "data" / "email"
FILES = sorted(CORPUS.glob("*.eml"))
UNPARSEABLE = {"no_from.eml", "garbage.eml"}


def parse(name: str) -> ParsedEmail:
    return parse_email((CORPUS / name).read_bytes(), endpoint="support@shop.test")


def test_the_corpus_is_big_and_varied():
    assert len(FILES) >= 40


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.name)
def test_every_file_parses_or_is_refused_with_a_reason(path: Path):
    raw = path.read_bytes()
    if path.name in UNPARSEABLE:
        with pytest.raises(EmailParseError) as refused:
            parse_email(raw, endpoint="support@shop.test")
        assert refused.value.reason
        return
    parsed = parse_email(raw, endpoint="support@shop.test")
    message = parsed.message
    assert "@" in message.sender
    assert message.external_id.startswith("<")
    assert "\ufffd" not in (message.subject or ""), "headers decode cleanly"
    assert "<script" not in (message.html or "")


@pytest.mark.parametrize(
    ("name", "subject", "text"),
    [
        (
            "plain_latin1.eml",
            "Commande",
            "Bonjour, ma commande n'est pas arrivée. Merci d'avance, José.",
        ),
        (
            "plain_windows1252.eml",
            None,
            "That\u2019s odd \u2013 the \u201cexpress\u201d parcel costs \u20ac20.",
        ),
        ("plain_koi8r.eml", "Заказ", "Здравствуйте! Где мой заказ?"),
        ("plain_shift_jis.eml", "注文について", "注文した商品がまだ届きません。"),
        ("plain_gb2312.eml", None, "我的订单还没有到。"),
        ("plain_big5.eml", None, "我的訂單還沒有到。"),
        ("plain_euc_kr.eml", None, "주문이 아직 도착하지 않았습니다."),
        ("utf7_body.eml", None, "Café au lait 日本語"),
        ("unknown_charset.eml", None, "Plain words and café."),
        ("mislabeled_ascii.eml", None, "Grüße aus Köln, the parcel is late."),
        ("rfc2047_subject_mixed.eml", "Rücksendung für Bestellung 4711", "Bitte um Rücksendung."),
        ("raw_8bit_headers.eml", "Größe falsch geliefert", "Die Größe ist falsch."),
        ("broken_base64.eml", None, "Hello world"),
        ("malformed_no_closing_boundary.eml", "Cut off", "The message was cut off in transit"),
    ],
)
def test_charsets_and_encodings_decode(name: str, subject: str | None, text: str):
    message = parse(name).message
    if subject:
        assert message.subject == subject
    assert message.text == text


def test_bad_bytes_are_replaced_never_a_crash():
    assert (
        parse("bad_utf8_bytes.eml").message.text
        == "Broken \ufffd\ufffd bytes \ufffd here but the text goes on."
    )


def test_sender_name_from_rfc_2047():
    message = parse("rfc2047_from_name.eml").message
    assert (message.sender, message.sender_name) == ("francois@customer.test", "François Müller")


def test_html_is_sanitised_and_remote_images_blocked():
    message = parse("html_only.eml").message
    assert "<script" not in message.html and "alert" not in message.html
    assert "onclick" not in message.html and "<iframe" not in message.html
    assert "tracker.test" not in message.html  # the tracking pixel stays blocked
    assert message.text == "Hello team,\nthe order is late."


def test_remote_images_load_when_the_agent_asks():
    html = '<img src="https://remote.test/a.png"><img src="cid:x">'
    assert sanitize_html(html) == '<img><img src="cid:x">'
    assert "https://remote.test/a.png" in sanitize_html(html, remote_images=True)


def test_inline_cid_images_and_attachments_are_kept():
    message = parse("related_inline_cid.eml").message
    [image] = message.attachments
    assert (image.filename, image.content_type, image.content_id, image.inline) == (
        "damage.png",
        "image/png",
        "damage@customer.test",
        True,
    )
    assert image.data.startswith(b"\x89PNG")
    assert 'src="cid:damage@customer.test"' in message.html


def test_every_attachment_with_its_name():
    names = [a.filename for a in parse("mixed_attachments.eml").message.attachments]
    assert names == ["invoice.pdf", "photo.png", "letter.docx"]
    assert [a.filename for a in parse("rfc2231_filename.eml").message.attachments] == [
        "Rechnung März.pdf"
    ]
    assert [a.filename for a in parse("outlook_rfc2047_filename.eml").message.attachments] == [
        "Devis été.pdf"
    ]
    assert [a.filename for a in parse("attachment_without_name.eml").message.attachments] == [
        "attachment-1.bin"
    ]
    [forwarded] = parse("forwarded_rfc822.eml").message.attachments
    assert forwarded.content_type == "message/rfc822"
    assert b"Message-ID: <order-1234@shop.test>" in forwarded.data
    nested = parse("deeply_nested.eml").message
    assert [(a.content_type, a.content_id) for a in nested.attachments] == [
        ("image/png", "logo"),
        ("application/zip", None),
    ]


def test_huge_attachment_is_kept_whole():
    [log] = parse("huge_attachment.eml").message.attachments
    assert len(log.data) == 1_200_000


@pytest.mark.parametrize(
    ("name", "new_text", "folded_starts"),
    [
        ("gmail_reply.eml", "Thanks, it arrived this morning!", "On Tue, 24 Nov 2026"),
        (
            "outlook_reply.eml",
            "Still nothing here, can you check again?\n\nBest regards\nAda",
            "-----Original Message-----",
        ),
        ("outlook_reply_header_block.eml", "Danke, passt so.", "________"),
        ("apple_mail_reply.eml", "Got it, thank you.", "Sent from my iPhone"),
        ("thunderbird_reply_german.eml", "Vielen Dank!", "Am 24.11.26 um 09:12 schrieb"),
        (
            "signature_dashes.eml",
            "Please change the invoice address to Main Street 1.",
            "-- \nAda Lovelace",
        ),
    ],
)
def test_quoted_history_and_signatures_fold_away(name: str, new_text: str, folded_starts: str):
    message = parse(name).message
    assert message.text == new_text
    assert message.folded_text.startswith(folded_starts)


def test_answers_between_quotes_are_not_folded():
    message = parse("interleaved_quotes.eml").message
    assert "Large, please." in message.text and "Blue." in message.text
    assert message.folded_text is None


def test_a_reply_that_is_all_quote_keeps_its_text():
    assert split_reply("> only quoted\n> lines") == ("> only quoted\n> lines", "")


def test_thread_hints_put_in_reply_to_first():
    hints = parse("gmail_reply.eml").message.thread_hints
    assert hints == ("<ours-1@helpdesk.test>", "<q-1@customer.test>")


@pytest.mark.parametrize(
    "name",
    ["auto_reply_gmail_vacation.eml", "auto_reply_outlook_oof.eml", "auto_reply_x_autorespond.eml"],
)
def test_auto_replies_are_recognised(name: str):
    parsed = parse(name)
    assert parsed.message.auto_submitted
    assert parsed.no_answer


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("newsletter_list.eml", "Precedence: bulk"),
        ("x_loop.eml", "X-Loop header: it went through a responder already"),
    ],
)
def test_mail_that_must_get_no_automatic_answer(name: str, reason: str):
    parsed = parse(name)
    assert not parsed.message.auto_submitted  # a person may still need an answer
    assert parsed.no_answer == reason


def test_delivery_reports():
    postfix = parse("bounce_postfix_dsn.eml").report
    assert (postfix.original_message_id, postfix.action, postfix.status) == (
        "<ours-bounced@helpdesk.test>",
        "failed",
        "5.1.1",
    )
    assert "User unknown" in postfix.diagnostic
    exchange = parse("bounce_exchange_headers_only.eml").report
    assert (exchange.original_message_id, exchange.status) == (
        "<ours-quota@helpdesk.test>",
        "5.2.2",
    )
    assert parse("bounce_delayed.eml").report.action == "delayed"
    assert parse("plain_simple.eml").report is None


def test_empty_messages_and_missing_message_id():
    assert parse("empty_body.eml").message.text == ""
    empty = parse("empty_subject_and_body.eml").message
    assert (empty.subject, empty.text) == (None, "")
    no_id = parse("no_message_id.eml").message
    assert no_id.external_id.endswith("@content-hash.invalid>")
    assert no_id.external_id == parse("no_message_id.eml").message.external_id


def test_apple_mail_text_around_an_inline_image_is_kept():
    message = parse("apple_mail_mixed_inline.eml").message
    assert message.text == "Here is the first photo:\nand that is all."
    assert [a.filename for a in message.attachments] == ["one.png"]


# --- hand-made mail: what real-world mailers write -------------------------------------------


def handmade(headers: bytes, body: bytes = b"Hello.") -> bytes:
    """A mail from ``headers`` (CRLF lines): the usual headers filled in where missing."""
    lines = [headers.rstrip(b"\r\n")]
    for line in (
        b"From: Ada <ada@customer.test>",
        b"To: support@shop.test",
        b"Subject: Hand-made",
        b"Message-ID: <handmade@customer.test>",
    ):
        if line.split(b":")[0].lower() + b":" not in headers.lower():
            lines.append(line)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body + b"\r\n"


def parse_raw(raw: bytes, **options) -> ParsedEmail:
    return parse_email(raw, endpoint="support@shop.test", **options)


@pytest.mark.parametrize(
    ("from_", "sender", "name"),
    [
        # RFC 5322 appendix A.5: comments anywhere, an escaped parenthesis inside one.
        (
            rb"From: Pete(A nice \) chap) <pete(his account)@silly.test(his host)>",
            "pete@silly.test",
            "Pete",
        ),
        (b'From: "Doe, Jane" (sales) <jane@customer.test>', "jane@customer.test", "Doe, Jane"),
        # Group syntax: the first mailbox of the group wrote it.
        (b"From: Team (ours): Ann <ann@x.test>, b@x.test;", "ann@x.test", "Ann"),
        # Encoded words: decoded after the address is found, so a name cannot forge one.
        (b"From: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@x.test>", "hans@x.test", "Müller, Hans"),
        (
            b"From: =?utf-8?q?Boss_=3Cboss=40shop.test=3E?= <mallory@x.test>",
            "mallory@x.test",
            "Boss <boss@shop.test>",
        ),
        # IDN domains, in Unicode (raw UTF-8) or punycode: one address.
        (b"From: J\xc3\xb6rg <j\xc3\xb6rg@B\xc3\x9cCHER.example>", "jörg@bücher.example", "Jörg"),
        (b"From: user@xn--bcher-kva.example", "user@bücher.example", None),
        (b"From: =?utf-8?b?5bGx55Sw?= <taro@XN--WGV71A119E.jp>", "taro@日本語.jp", "山田"),
    ],
    ids=[
        "comments",
        "quoted-comma",
        "group",
        "encoded-comma",
        "encoded-forgery",
        "idn",
        "puny",
        "jp",
    ],
)
def test_real_world_addresses_parse(from_: bytes, sender: str, name: str | None):
    message = parse_raw(handmade(from_)).message
    assert (message.sender, message.sender_name) == (sender, name)


def test_an_empty_group_in_from_leaves_the_sender_to_sender():
    raw = handmade(b"From: undisclosed-recipients:;\r\nSender: list@customer.test")
    assert parse_raw(raw).message.sender == "list@customer.test"


def test_groups_and_comments_in_recipients_find_the_alias():
    raw = handmade(
        b"To: undisclosed-recipients:;\r\n"
        b"Cc: Shop (all of us): Support <support@shop.test>, Sales <sales(desk)@shop.test>;"
    )
    parsed = parse_raw(raw, own_addresses={"sales@shop.test"})
    assert parsed.message.recipient == "sales@shop.test"


def test_an_address_nothing_can_read_is_refused_with_what_it_said():
    with pytest.raises(EmailParseError) as refused:
        parse_raw(handmade(b"From: Ada <ada at customer dot test>"))
    assert refused.value.reason == (
        "no sender address in From ('Ada <ada at customer dot test>'), Sender or Return-Path"
    )


def with_attachment(content_type: bytes, disposition: bytes) -> bytes:
    return handmade(
        b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b",
        b"--b\r\nContent-Type: text/plain\r\n\r\nSee the file.\r\n--b\r\n"
        b"Content-Type: " + content_type + b"\r\n"
        b"Content-Disposition: " + disposition + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--",
    )


@pytest.mark.parametrize(
    ("content_type", "disposition", "filename"),
    [
        # RFC 2231, in one piece and continued over two parameters.
        (
            b"application/pdf",
            b"attachment; filename*=UTF-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.pdf",
            "Отчёт.pdf",
        ),
        (
            b"application/pdf",
            b"attachment; filename*0*=utf-8'ru'%D0%9E%D1%82;\r\n"
            b" filename*1*=%D1%87%D1%91%D1%82.pdf",
            "Отчёт.pdf",
        ),
        # RFC 2047 where RFC 2231 is meant, in Content-Type's name= (Outlook does both).
        (b'application/pdf; name="=?UTF-8?B?5aCx5ZGK5pu4LnBkZg==?="', b"attachment", "報告書.pdf"),
        # Raw UTF-8, in filename= and in name=.
        (
            b"application/pdf",
            b'attachment; filename="\xd0\x9e\xd1\x82\xd1\x87\xd1\x91\xd1\x82.pdf"',
            "Отчёт.pdf",
        ),
        (
            b'application/pdf; name="\xe5\xa0\xb1\xe5\x91\x8a\xe6\x9b\xb8.pdf"',
            b"attachment",
            "報告書.pdf",
        ),
        (
            b"text/plain",
            b'inline; filename="\xd8\xaa\xd9\x82\xd8\xb1\xd9\x8a\xd8\xb1.txt"',
            "تقرير.txt",
        ),
    ],
    ids=[
        "rfc2231",
        "rfc2231-continued",
        "rfc2047-name",
        "utf8-filename",
        "utf8-name",
        "utf8-inline",
    ],
)
def test_encoded_attachment_names_parse(content_type: bytes, disposition: bytes, filename: str):
    message = parse_raw(with_attachment(content_type, disposition)).message
    assert message.text == "See the file."
    [attachment] = message.attachments
    assert (attachment.filename, attachment.data) == (filename, b"hello")


def test_copies_share_a_content_hash_and_other_mail_with_the_same_id_does_not():
    raw = handmade(b"Date: Tue, 24 Nov 2026 10:00:00 +0000")
    relayed = b"Received: from mx.test\r\nX-Original-To: support@shop.test\r\n" + raw
    refolded = raw.replace(b"Subject: Hand-made", b"Subject:\r\n Hand-made").replace(
        b"10:00:00 +0000", b"11:00:00 +0100"
    )
    other = handmade(b"Date: Tue, 24 Nov 2026 10:00:00 +0000", body=b"Something else.")
    hashes = [parse_raw(item).message.content_hash for item in (raw, relayed, refolded, other)]
    assert hashes[0] == hashes[1] == hashes[2] != hashes[3]
    assert {parse_raw(item).message.external_id for item in (raw, other)} == {
        "<handmade@customer.test>"
    }


# --- found by bench/fuzz.py -------------------------------------------------------------------


def test_nuls_in_headers_are_dropped_never_stored():
    raw = (
        b"From: Ada\x00 Lovelace <ada@customer.test>\r\nTo: support@shop.test\r\n"
        b"Subject: Where\x00 is it?\r\nMessage-ID: <n\x00ul@customer.test>\r\n"
        b"Content-Type: text/plain\r\n\r\nHello\r\n"
    )
    parsed = parse_email(raw, endpoint="support@shop.test")
    assert (parsed.message.sender_name, parsed.message.subject) == ("Ada Lovelace", "Where is it?")
    assert parsed.message_id == "<nul@customer.test>"


def test_a_charset_name_with_a_nul_reads_as_an_unknown_one():
    raw = (
        b"From: ada@customer.test\r\nContent-Type: text/plain; charset=cp1252\x00\r\n\r\nH\xe9\r\n"
    )
    assert parse_email(raw, endpoint="support@shop.test").message.text == "Hé"


def test_an_overlong_or_unprintable_content_type_is_kept_as_plain_bytes():
    raw = (
        b"From: ada@customer.test\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: image/" + b"x" * 200 + b"; name=a.png\r\n\r\nAAAA\r\n"
        b"--b\r\nContent-Type: image/p\x01ng; name=b.png\r\n\r\nBBBB\r\n--b--\r\n"
    )
    attachments = parse_email(raw, endpoint="support@shop.test").message.attachments
    assert [a.content_type for a in attachments] == ["application/octet-stream"] * 2
    assert [a.filename for a in attachments] == ["a.png", "b.png"]


def test_a_sender_address_longer_than_smtp_allows_is_no_sender():
    raw = b"From: " + b"x" * 300 + b"@customer.test\r\nSubject: Hi\r\n\r\nHello\r\n"
    with pytest.raises(EmailParseError, match="no sender address"):
        parse_email(raw, endpoint="support@shop.test")
