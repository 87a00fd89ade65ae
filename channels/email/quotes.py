"""Fold away quoted history and signatures of a reply, keeping what the customer just wrote."""

from __future__ import annotations

import re

# Lines that start the quoted history in the big clients' reply styles.
_HISTORY_STARTS = [
    # Gmail, Apple Mail, Thunderbird: "On Tue, 3 Mar 2026, Ada <ada@x> wrote:" (may wrap).
    re.compile(
        r"^\s*(On|Am|Le|El|Il|Op|Em|Den|På)\s.{0,300}?"
        r"(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu|skrev)(\s.{0,120})?\s?:\s*$",
        re.I | re.S,
    ),
    # Outlook: "-----Original Message-----" and its translations.
    re.compile(
        r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine"
        r"|Mensaje original)\s*-{2,}\s*$",
        re.I,
    ),
    # Outlook's header block: "From: … Sent: …" (the Sent line follows within a few lines).
    re.compile(r"^\s*(From|Von|De)\s*:\s.+$", re.I),
    re.compile(r"^_{20,}\s*$"),
]
_OUTLOOK_SENT = re.compile(r"^\s*(Sent|Gesendet|Envoyé|Enviado|Date)\s*:", re.I)
_SIGNATURE_STARTS = [
    re.compile(r"^-- ?$"),  # the RFC 3676 signature separator
    re.compile(r"^(Sent from my |Get Outlook for |Envoyé de mon |Von meinem ).{0,60}$", re.I),
]


def split_reply(text: str) -> tuple[str, str]:
    """(what is new, what was folded away); nothing is folded when that would leave nothing."""
    lines = text.split("\n")
    cut = _history_start(lines)
    cut = min(cut, _signature_start(lines[:cut]))
    new = "\n".join(lines[:cut]).rstrip()
    folded = "\n".join(lines[cut:]).strip("\n")
    if not new.strip():
        return text.strip(), ""
    return new, folded


def _history_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        # Quoted lines interleaved with answers stay; only a trailing quoted block folds.
        if line.startswith(">") and all(
            not rest.strip() or rest.startswith(">") for rest in lines[index:]
        ):
            return index
        # A reply header may wrap over two lines: try the line with its successor too.
        joined = line if index + 1 >= len(lines) else f"{line} {lines[index + 1]}"
        for pattern in _HISTORY_STARTS[:2]:
            if pattern.match(line) or (pattern is _HISTORY_STARTS[0] and pattern.match(joined)):
                return index
        if _HISTORY_STARTS[2].match(line) and any(
            _OUTLOOK_SENT.match(following) for following in lines[index + 1 : index + 4]
        ):
            return index
        if _HISTORY_STARTS[3].match(line) and index + 1 < len(lines):
            return index
    return len(lines)


def _signature_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        if any(pattern.match(line.rstrip("\r")) for pattern in _SIGNATURE_STARTS) and index > 0:
            return index
    return len(lines)
