"""Hostile mail, seeded: the real sample mails of tests/data/email, mutated.

Flipped bytes, cuts, doubled and missing headers, broken transfer encodings, unknown charsets,
RFC 2047 garbage, deep multiparts, huge headers, NULs, lost boundaries, bogus content types,
odd senders, loops and replies to earlier cases; one to three of them per mail.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path

from fuzz_inputs import case_random

SAMPLES = Path(__file__).resolve().parent / "data" / "email"
MAILBOX = "support@shop.test"
# Samples this large are mutated only now and then: their size costs time, not coverage.
LARGE_SAMPLE = 200_000
FIRST_DATE = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


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
    if not raw:
        return
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
