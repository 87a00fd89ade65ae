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
