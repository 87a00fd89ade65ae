"""Hostile input, seeded: mutated MIME messages, fuzzed Twilio webhook forms, fuzzed chat requests.

Each case draws from its own ``random.Random(f"{seed}:{kind}:{case}")``, so one case can be made
again from its seed and number alone. bench/fuzz.py sends 10,000 of each kind through the real
doors (tests/fuzz_drive.py); tests/test_fuzz_sample.py sends a seeded sample of each.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent / "data" / "email"
MAILBOX = "support@shop.test"
# Samples this large are mutated only now and then: their size costs time, not coverage.
LARGE_SAMPLE = 200_000
FIRST_DATE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def case_random(seed: int, kind: str, case: int) -> random.Random:
    """The generator of one case: the same seed, kind and number give the same input."""
    return random.Random(f"{seed}:{kind}:{case}")


# --- text that breaks things -------------------------------------------------------------------

ODD_TEXT = [
    "",
    " ",
    "\t\r\n",
    "Hello, where is my order?",
    "STOP",
    " stop! ",
    "START",
    "help.",
    "4",
    "Grüße aus Köln — ça va? 你好 مرحبا שלום",
    "👩‍👩‍👧‍👦🏳️‍🌈 " * 3,
    "e\u0301\u0301\u0301\u0301 z\u0335\u0336\u0337",
    "\u202eevil\u202c \u200b\u200d\ufeff",
    "\x00",
    "nul\x00inside",
    "half \ud83d a pair",
    "\udc80\udcff",
    "\uffff\ufffe\U0010ffff",
    "<script>alert(1)</script>",
    "'; DROP TABLE tickets; --",
    "%s %d {0} {name} ${x}",
    "\r\n\r\nX-Injected: yes",
    "=?utf-8?b?SGVsbG8=?=",
    "[#1] Re: my ticket",
    "a" * 1601,
    "line\n" * 500,
]


def odd_text(rng: random.Random, huge: int = 20_000) -> str:
    """Text from the palette above, glued, repeated or grown huge now and then."""
    roll = rng.random()
    if roll < 0.55:
        return rng.choice(ODD_TEXT)
    if roll < 0.8:
        return "".join(rng.choice(ODD_TEXT) for _ in range(rng.randint(2, 5)))
    if roll < 0.92:
        return "".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(1, 60)))
    return rng.choice(ODD_TEXT[3:]) * rng.randint(1, huge // 10 + 1)


# --- MIME -------------------------------------------------------------------------------------


@cache
def mail_samples() -> tuple[tuple[str, bytes], ...]:
    """The real sample mails of tests/data/email, by name."""
    return tuple((path.name, path.read_bytes()) for path in sorted(SAMPLES.glob("*.eml")))


@dataclass(slots=True)
class _Mail:
    """A mail split for mutating: its header lines (folded lines kept whole) and its body."""

    headers: list[bytes]
    separator: bytes
    body: bytes

    @classmethod
    def split(cls, raw: bytes) -> _Mail:
        match = re.search(rb"\r?\n\r?\n", raw)
        head, separator, body = (
            (raw[: match.start()], match.group(), raw[match.end() :]) if match else (raw, b"", b"")
        )
        headers: list[bytes] = []
        for line in re.split(rb"(?<=\n)", head):
            if headers and line[:1] in (b" ", b"\t"):
                headers[-1] += line
            elif line:
                headers.append(line)
        if headers and not headers[-1].endswith(b"\n"):
            headers[-1] += b"\r\n"
        return cls(headers, separator or b"\r\n", body)

    def join(self) -> bytes:
        return b"".join(self.headers) + self.separator + self.body

    def named(self, name: bytes) -> list[int]:
        prefix = name.lower() + b":"
        return [n for n, line in enumerate(self.headers) if line.lower().startswith(prefix)]

    def set(self, name: bytes, value: bytes) -> None:
        line = name + b": " + value + b"\r\n"
        found = self.named(name)
        if found:
            self.headers[found[0]] = line
        else:
            self.headers.insert(0, line)


def _unique_date(mail: _Mail, rng: random.Random, case: int) -> None:
    """A Date of its own, so most cases are new mail rather than copies of one another."""
    when = FIRST_DATE + timedelta(seconds=case, microseconds=rng.randrange(1000))
    mail.set(b"Date", format_datetime(when).encode())


def _flip_bytes(mail: _Mail, rng: random.Random) -> None:
    raw = bytearray(mail.join())
    for _ in range(rng.randint(1, 24)):
        raw[rng.randrange(len(raw))] = rng.randrange(256)
    replaced = _Mail.split(bytes(raw))
    mail.headers, mail.separator, mail.body = replaced.headers, replaced.separator, replaced.body


def _truncate(mail: _Mail, rng: random.Random) -> None:
    raw = mail.join()
    cut = _Mail.split(raw[: rng.randrange(len(raw) + 1)])
    mail.headers, mail.separator, mail.body = cut.headers, cut.separator, cut.body


def _duplicate_header(mail: _Mail, rng: random.Random) -> None:
    if mail.headers:
        line = rng.choice(mail.headers)
        for _ in range(rng.choice([1, 1, 2, 50])):
            mail.headers.insert(rng.randrange(len(mail.headers) + 1), line)


def _remove_header(mail: _Mail, rng: random.Random) -> None:
    wanted = rng.choice([b"From", b"Content-Type", b"MIME-Version", b"Message-ID", b"Date", b"To"])
    found = mail.named(wanted) or range(len(mail.headers))
    if found:
        del mail.headers[rng.choice(list(found))]


def _broken_encoding(mail: _Mail, rng: random.Random) -> None:
    encoding = rng.choice([b"base64", b"quoted-printable", b"x-uuencode", b"7bit", b"b\x00ase64"])
    mail.set(b"Content-Transfer-Encoding", encoding)
    garbage = rng.choice(
        [b"!!!not base64!!!", b"====", b"QUJD\r\nR\r\n=", b"=Z9=\r\n=", b"=", b"=F", b"\x00\xff"]
    )
    at = rng.randrange(len(mail.body) + 1)
    mail.body = mail.body[:at] + garbage + mail.body[at:]
    if rng.random() < 0.5:
        # The same trouble inside a part of a multipart body.
        mail.body = re.sub(
            rb"(?im)^content-transfer-encoding:.*$",
            b"Content-Transfer-Encoding: " + encoding,
            mail.body,
        )


def _odd_charset(mail: _Mail, rng: random.Random) -> None:
    charset = rng.choice(
        [b"x-unknown", b"utf-99", b'""', b"utf-7", b"utf-16", b"utf-32-be", b"cp1252\x00", b"\xff"]
    )
    pattern = rb'(?i)charset="?[^";\s]*"?'
    replaced = re.sub(pattern, b"charset=" + charset, b"".join(mail.headers) + mail.body)
    if replaced == b"".join(mail.headers) + mail.body:
        mail.set(b"Content-Type", b"text/plain; charset=" + charset)
        return
    head_length = len(b"".join(mail.headers))
    # The header block keeps its line structure: re-split only the changed header text.
    mail.headers = _Mail.split(replaced[:head_length] + b"\r\n\r\n").headers
    mail.body = replaced[head_length:]


ENCODED_WORD_GARBAGE = [
    b"=?bogus?Q?=FF=FE?=",
    b"=?utf-8?B?!!!?=",
    b"=?utf-8?q?unterminated",
    b"=?utf-8?b?SGVsbG8?= =?iso-8859-1?q?W=F6rld?=",
    b"=?utf-16?b?2D3eAA==?=",
    b"=??Q?empty-charset?=",
    b"=?utf-8*en?Q?lang?=",
    b"=?utf-8?x?unknown-encoding?=",
    b"=?" * 400,
]


def _encoded_word_garbage(mail: _Mail, rng: random.Random) -> None:
    name = rng.choice([b"Subject", b"From", b"To", b"Cc"])
    word = rng.choice(ENCODED_WORD_GARBAGE)
    value = word + b" <ada@customer.test>" if name != b"Subject" else word
    mail.set(name, value)


def _nest_multiparts(mail: _Mail, rng: random.Random) -> None:
    depth = rng.choice([3, 20, 120, 400, 1200])
    body = b"Content-Type: text/plain\r\n\r\nDeep inside.\r\n"
    for level in range(depth):
        boundary = b"b%d" % level
        closing = b"--" + boundary + b"--\r\n" if rng.random() < 0.9 else b""
        body = (
            b"Content-Type: multipart/mixed; boundary=" + boundary + b"\r\n\r\n"
            b"--" + boundary + b"\r\n" + body + b"\r\n" + closing
        )
    head, _, rest = body.partition(b"\r\n\r\n")
    mail.set(b"Content-Type", head.split(b": ", 1)[1])
    mail.set(b"MIME-Version", b"1.0")
    mail.body = rest


def _huge_header(mail: _Mail, rng: random.Random) -> None:
    size = rng.choice([1_000, 20_000, 200_000])
    name, unit = rng.choice(
        [
            (b"Subject", b"Refund please "),
            (b"References", b"<ref-%d@customer.test> " % rng.randrange(10**6)),
            (b"To", b"someone@customer.test, "),
            (b"X-Long", b"x"),
            (b"Message-ID", b"<" + b"m" * 40),
        ]
    )
    mail.set(name, unit * (size // len(unit)))


def _insert_nuls(mail: _Mail, rng: random.Random) -> None:
    raw = bytearray(mail.join())
    for _ in range(rng.randint(1, 10)):
        raw.insert(rng.randrange(len(raw) + 1), 0)
    nulled = _Mail.split(bytes(raw))
    mail.headers, mail.separator, mail.body = nulled.headers, nulled.separator, nulled.body


def _break_boundary(mail: _Mail, rng: random.Random) -> None:
    joined = b"".join(mail.headers)
    choice = rng.randrange(3)
    if choice == 0:  # the boundary parameter gone
        joined = re.sub(rb'(?i);\s*boundary="?[^";\r\n]*"?', b"", joined)
    elif choice == 1:  # no closing boundary
        mail.body = re.sub(rb"(?m)^--[^\r\n]*--\s*$", b"", mail.body)
    else:  # a boundary the body never uses
        joined = re.sub(rb'(?i)boundary="?[^";\r\n]*"?', b'boundary="nowhere"', joined)
    mail.headers = _Mail.split(joined + b"\r\n").headers


BOGUS_CONTENT_TYPES = [
    b"text",
    b"/",
    b"multipart/mixed",
    b"multipart/alternative; boundary=",
    b"message/rfc822",
    b"message/delivery-status",
    b"multipart/report; report-type=delivery-status; boundary=mix",
    b"multipart/report; report-type=delivery-status",
    b"text/html",
    b"application/octet-stream; name=../../etc/passwd",
    b"image/png; name*=utf-8''%FF%FE",
    b"text/plain; charset",
    b"\xff\xfe/\x00",
]


def _bogus_content_type(mail: _Mail, rng: random.Random) -> None:
    mail.set(b"Content-Type", rng.choice(BOGUS_CONTENT_TYPES))


def _line_endings(mail: _Mail, rng: random.Random) -> None:
    raw = mail.join().replace(b"\r\n", b"\n")
    ending = rng.choice([b"\n", b"\r", b"\r\r\n", b"\n\r"])
    changed = _Mail.split(raw.replace(b"\n", ending))
    mail.headers, mail.separator, mail.body = changed.headers, changed.separator, changed.body


ODD_SENDERS = [
    b"<>",
    b"@",
    b"a@b@c",
    b"undisclosed-recipients:;",
    b'"Ada (the customer)" <ada@customer.test> (comment',
    b"Ada <ada@customer.test>, Bob <bob@customer.test>",
    b"x" * 300 + b"@customer.test",
    b"ada@xn--zz-gaa.test",
    b"J\xc3\xbcrgen <j\xc3\xbcrgen@b\xc3\xa4cker.test>",
    b"\xff\xfe <raw@customer.test>",
    b"support@shop.test",
    b"MAILER-DAEMON@shop.test",
    b"ada@customer.test\x00evil@other.test",
    b'\\"escaped\\" <esc@customer.test>',
]


def _odd_sender(mail: _Mail, rng: random.Random) -> None:
    mail.set(rng.choice([b"From", b"From", b"Sender", b"Reply-To"]), rng.choice(ODD_SENDERS))


def _automatic(mail: _Mail, rng: random.Random) -> None:
    name, value = rng.choice(
        [
            (b"Auto-Submitted", b"auto-replied"),
            (b"X-Loop", MAILBOX.encode()),
            (b"Precedence", b"bulk"),
            (b"X-Autoreply", b"yes"),
            (b"Auto-Submitted", b"\xff"),
        ]
    )
    mail.set(name, value)


def _odd_date(mail: _Mail, rng: random.Random) -> None:
    mail.set(
        b"Date",
        rng.choice([b"99 Foo 99999 99:99:99 +9999", b"", b"Tue, 31 Feb 2026 25:61:61 -2500", b"0"]),
    )


def _thread_to_earlier(mail: _Mail, rng: random.Random, case: int) -> None:
    """A reply to (or a reuse of) an earlier case's Message-ID, or a subject ticket token."""
    earlier = b"<x%d@customer.test>" % rng.randrange(max(case, 1))
    name = rng.choice([b"In-Reply-To", b"References", b"Message-ID"])
    mail.set(name, earlier)
    if rng.random() < 0.3:
        mail.set(b"Subject", b"Re: [#%d] still waiting" % rng.randint(1, 50))


def _broken_structure(mail: _Mail, rng: random.Random) -> None:
    choice = rng.randrange(4)
    if choice == 0:  # a header line without a colon
        mail.headers.insert(rng.randrange(len(mail.headers) + 1), b"This is no header\r\n")
    elif choice == 1:  # a continuation line first
        mail.headers.insert(0, b"  folded onto nothing\r\n")
    elif choice == 2:  # no blank line between headers and body
        mail.separator = b"\r\n"
    else:  # nothing but whitespace
        mail.headers, mail.separator, mail.body = [], b"", rng.choice([b"", b"\r\n", b" \t "])


def _splice(mail: _Mail, rng: random.Random) -> None:
    _, other = rng.choice(_small_samples())
    mail.body = _Mail.split(other).body


def _eight_bit_headers(mail: _Mail, rng: random.Random) -> None:
    name = rng.choice([b"Subject", b"From", b"To", b"Content-Disposition"])
    mail.set(name, bytes(rng.randrange(128, 256) for _ in range(rng.randint(1, 40))))


Mutation = Callable[[_Mail, random.Random], None]
MUTATIONS: dict[str, Mutation] = {
    "flip-bytes": _flip_bytes,
    "truncate": _truncate,
    "duplicate-header": _duplicate_header,
    "remove-header": _remove_header,
    "broken-encoding": _broken_encoding,
    "odd-charset": _odd_charset,
    "encoded-word-garbage": _encoded_word_garbage,
    "nested-multiparts": _nest_multiparts,
    "huge-header": _huge_header,
    "nuls": _insert_nuls,
    "broken-boundary": _break_boundary,
    "bogus-content-type": _bogus_content_type,
    "line-endings": _line_endings,
    "odd-sender": _odd_sender,
    "automatic": _automatic,
    "odd-date": _odd_date,
    "broken-structure": _broken_structure,
    "splice": _splice,
    "eight-bit-headers": _eight_bit_headers,
}


@cache
def _small_samples() -> tuple[tuple[str, bytes], ...]:
    return tuple(sample for sample in mail_samples() if len(sample[1]) < LARGE_SAMPLE)


def mutated_mail(seed: int, case: int) -> tuple[bytes, str]:
    """One mutated sample mail and a description of what was done to it."""
    rng = case_random(seed, "mail", case)
    pool = mail_samples() if rng.random() < 0.01 else _small_samples()
    name, raw = rng.choice(pool)
    mail = _Mail.split(raw)
    _unique_date(mail, rng, case)
    mail.set(b"Message-ID", b"<x%d@customer.test>" % case)
    done = []
    for _ in range(rng.choice([1, 1, 2, 2, 3])):
        if rng.random() < 0.15:
            _thread_to_earlier(mail, rng, case)
            done.append("thread-to-earlier")
            continue
        what = rng.choice(list(MUTATIONS))
        MUTATIONS[what](mail, rng)
        done.append(what)
    return mail.join(), f"{name}: {', '.join(done)}"


# --- Twilio webhook forms ---------------------------------------------------------------------

TWILIO_NUMBER = "+15550001111"
ODD_NUMBERS = [
    "+15550002000",
    "+15550002001",
    "+4915112345678",
    "5550002000",
    "(555) 000-2000",
    "+1 555 000 2000 ext. 7",
    "+",
    "00",
    "+99999999999999999999999",
    "+١٥٥٥٠٠٠٢٠٠٠",
    "whatsapp:+15550002000",
    "messenger:123456",
    "12345",
    "ada@customer.test",
    "abc",
    "+1555\x000002000",
    "+1555000200\ud83d",
    "",
    " ",
    "9" * 5000,
]
TWILIO_FIELDS = [
    "ToCountry",
    "SmsMessageSid",
    "NumMedia",
    "SmsSid",
    "SmsStatus",
    "Body",
    "To",
    "NumSegments",
    "MessageSid",
    "AccountSid",
    "From",
    "ApiVersion",
]


def twilio_form(seed: int, case: int, earlier_sids: list[str]) -> list[tuple[str, str]]:
    """A fuzzed inbound SMS webhook form as (name, value) pairs (a name may come twice)."""
    rng = case_random(seed, "twilio", case)
    sid = f"SM{rng.getrandbits(128):032x}"
    form = {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": odd_text(rng) if rng.random() < 0.7 else "Where is my parcel?",
        "To": TWILIO_NUMBER if rng.random() < 0.8 else rng.choice(ODD_NUMBERS),
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": rng.choice(ODD_NUMBERS[:3]) if rng.random() < 0.6 else rng.choice(ODD_NUMBERS),
        "ApiVersion": "2010-04-01",
    }
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        _fuzz_twilio_field(form, rng, earlier_sids)
    pairs = list(form.items())
    if rng.random() < 0.05:  # a field sent twice with different values
        name = rng.choice(TWILIO_FIELDS)
        pairs.append((name, odd_text(rng, huge=200)))
    return pairs


def _fuzz_twilio_field(form: dict[str, str], rng: random.Random, earlier: list[str]) -> None:
    roll = rng.randrange(8)
    if roll == 0:
        form.pop(rng.choice(TWILIO_FIELDS), None)
    elif roll == 1 and earlier:  # Twilio retrying an earlier webhook, or a reused sid
        form["MessageSid"] = form["SmsMessageSid"] = rng.choice(earlier)
    elif roll == 2:
        form["MessageSid"] = rng.choice(["", "SM", "x" * 20_000, "SM\u00e9\U0001f600", "SM 1"])
    elif roll == 3:
        _fuzz_media(form, rng)
    elif roll == 4:
        form["MessagingServiceSid"] = rng.choice(["MG" + "2" * 32, "", "MG", odd_text(rng, 300)])
    elif roll == 5:
        form["OptOutType"] = rng.choice(["STOP", "start", "HELP", "", "UNKNOWN", "\x00"])
    elif roll == 6:
        form[odd_text(rng, 100) or "Empty"] = odd_text(rng, 2_000)
    else:
        form[rng.choice(TWILIO_FIELDS)] = odd_text(rng, 2_000)


def _fuzz_media(form: dict[str, str], rng: random.Random) -> None:
    form["NumMedia"] = rng.choice(["1", "2", "3", "-1", "abc", "99999", "1e3", " 2 ", "", "10"])
    for n in range(rng.randint(0, 3)):
        form[f"MediaUrl{n}"] = rng.choice(
            [
                f"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME{n}",
                "javascript:alert(1)",
                "http://127.0.0.1:1/x",
                "",
                "https://" + "a" * 3_000 + ".test/x.jpg",
                "not a url",
            ]
        )
        form[f"MediaContentType{n}"] = rng.choice(
            ["image/jpeg", "", "text/plain; charset=\x00", "x" * 500, "image/\U0001f600"]
        )


# --- chat widget requests ---------------------------------------------------------------------

ODD_VALUES: list[object] = [None, 0, -1, 1.5, True, [], {}, ["text"], {"a": 1}, 10**30, "1e309"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One request to a chat endpoint, as the widget (or someone pretending to be it) sends it."""

    action: str  # start | message | typing | survey-comment
    path: str
    body: bytes
    content_type: str
    origin: str | None


def _odd_value(rng: random.Random, huge: int = 6_000) -> object:
    return rng.choice(ODD_VALUES) if rng.random() < 0.4 else odd_text(rng, huge)


def chat_request(
    seed: int, case: int, site_key: str, origin: str, tokens: list[str], client_ids: list[str]
) -> ChatRequest:
    """A fuzzed widget request; ``tokens`` and ``client_ids`` are those handed out so far."""
    rng = case_random(seed, "chat", case)
    roll = rng.random()
    if roll < 0.35 or not tokens:
        action, path, body = (
            "start",
            f"/chat/api/sites/{_site_key(rng, site_key)}/conversations",
            _prechat(rng),
        )
    elif roll < 0.9:
        action, path, body = "message", "/chat/api/messages", _chat_message(rng, tokens, client_ids)
    elif roll < 0.95:
        action, path, body = "typing", "/chat/api/typing", {"token": _token(rng, tokens)}
    else:
        body = {"token": _token(rng, tokens), "comment": _odd_value(rng)}
        action, path = "survey-comment", "/chat/api/survey-comment"
    return ChatRequest(
        action,
        path,
        _encoded(body, rng),
        rng.choice(["text/plain;charset=UTF-8", "text/plain;charset=UTF-8", "application/json"]),
        origin if rng.random() < 0.9 else rng.choice([None, "null", "https://evil.example"]),
    )


def _site_key(rng: random.Random, real: str) -> str:
    if rng.random() < 0.9:
        return real
    return rng.choice(["nope", "x" * 3_000, "%00", "..%2F..%2Fadmin", "\u00e9t\u00e9"])


def _prechat(rng: random.Random) -> object:
    fields: dict[str, object] = {
        "name": "Ada Lovelace" if rng.random() < 0.5 else _odd_value(rng, 400),
        "email": "ada@customer.test" if rng.random() < 0.6 else _odd_value(rng, 400),
        "stage": rng.choice(["", "purchase", "use", "unknown", "bogus", None, 7, ["use"]]),
    }
    if rng.random() < 0.15:
        fields["user_id"] = _odd_value(rng, 400)
        fields["user_hash"] = rng.choice(["", "00" * 32, None, 5, "zz"])
    for name in list(fields):
        if rng.random() < 0.1:
            del fields[name]
    return fields if rng.random() < 0.95 else rng.choice([[], "text", 5, None])


def _token(rng: random.Random, tokens: list[str]) -> object:
    roll = rng.random()
    if roll < 0.8:
        return rng.choice(tokens)
    if roll < 0.9:
        token = rng.choice(tokens)
        return token[:-3] + "abc"  # tampered signature
    return _odd_value(rng, 2_000)


def _chat_message(rng: random.Random, tokens: list[str], client_ids: list[str]) -> object:
    client_id = f"c{rng.getrandbits(64):x}"
    if client_ids and rng.random() < 0.1:
        client_id = rng.choice(client_ids)  # the widget resending after a lost answer
    fields: dict[str, object] = {
        "token": _token(rng, tokens),
        "client_id": client_id if rng.random() < 0.9 else _odd_value(rng, 200),
        "text": _odd_value(rng, 6_000) if rng.random() < 0.7 else "Do you ship to Norway?",
    }
    if rng.random() < 0.3:
        fields["page_url"] = rng.choice(
            [
                "https://shop.example/pricing?utm_source=news&utm_campaign=x",
                "javascript:alert(1)",
                "https://shop.example/" + "p" * 3_000,
                "//\x00",
                7,
            ]
        )
    if rng.random() < 0.2:
        fields["utm"] = rng.choice([{"source": _odd_value(rng, 300)}, "utm", [1], None])
    for name in list(fields):
        if rng.random() < 0.05:
            del fields[name]
    return fields


def _encoded(body: object, rng: random.Random) -> bytes:
    """JSON as a browser or a script sends it, or now and then something that is not JSON."""
    roll = rng.random()
    if roll < 0.03:
        return rng.choice([b"", b"{", b"\xff\xfe{}", b'{"token": "x"' + b" " * 20_000, b"null"])
    text = json.dumps(body, ensure_ascii=rng.random() < 0.7)
    return text.encode("utf-8", "surrogatepass")
