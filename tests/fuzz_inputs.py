"""Hostile input, seeded: fuzzed Twilio webhook forms and chat requests (mail: fuzz_mail.py).

Each case draws from its own ``random.Random(f"{seed}:{kind}:{case}")``, so one case can be made
again from its seed and number alone. bench/fuzz.py sends 10,000 of each kind through the real
doors (tests/fuzz_drive.py); tests/test_fuzz_sample.py sends a seeded sample of each.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass


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
