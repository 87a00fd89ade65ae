"""How the demo's customers word a request: one kind of request (a ``Template``) comes in many
phrasings, composed from its subjects, openings and details, and roughened the way hurried
people type (typos, no capitals, short forms), all drawn from a seeded generator."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from channels.base import Channel
from helpdesk.models import Priority, Stage

EMAIL, SMS, CHAT = Channel.EMAIL, Channel.SMS, Channel.CHAT


@dataclass(frozen=True, slots=True)
class Template:
    """One kind of request: how it arrives, the ways customers put it, how the agent answers."""

    stage: Stage  # what the request is really about; an agent corrects intake to it
    channel: Channel
    # Ways customers open it (one is drawn); on SMS and chat every line is a message of its own.
    openings: tuple[str, ...]
    reply: str
    answer: str  # the customer's answer to the reply
    resolution: str
    subjects: tuple[str, ...] = ("",)
    # Sentences some customers add to an email's opening (none, one or two are drawn).
    details: tuple[str, ...] = ()
    to: str = "support"  # email: the alias the customer wrote to
    page: str = ""  # chat: the page (and campaign tags) the chat was opened on
    chosen: bool = False  # chat: the customer picked the stage in the pre-chat form
    note: str = ""
    correction: str = ""  # why the agent corrects the stage intake gave
    priority: Priority | None = None
    weight: int = 2
    # Weeks after it was closed: what the customer writes back, and what the agent answers.
    comeback: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """One customer's wording of a template: its subject and opening (placeholders unfilled)."""

    subject: str
    opening: str


def word(rng: random.Random, template: Template) -> Request:
    """Draw a subject and an opening and put them in one customer's words: for email some
    details and maybe an aside in their own order, for a text or chat maybe a greeting or a
    first message that says nothing yet; everyday words swapped for the ones this customer
    uses."""
    opening = rng.choice(template.openings)
    subject = rng.choice(template.subjects)
    if template.channel == EMAIL:
        if rng.random() < VAGUE_CHANCE:
            subject = rng.choice(VAGUE_SUBJECTS)
        added = rng.sample(template.details, min(len(template.details), rng.choice((0, 1, 1, 2))))
        if rng.random() < ASIDE_CHANCE:
            added.insert(rng.randrange(len(added) + 1), rng.choice(ASIDES))
        # Some give the background first, most lead with the problem.
        sentences = [*added, opening] if added and rng.random() < 0.3 else [opening, *added]
        opening = " ".join(sentences)
    # A texted keyword such as ORDER is never preceded by anything.
    elif not opening.split()[0].isupper():
        if rng.random() < VAGUE_CHANCE:
            # What it is about comes in the next message.
            opening = f"{rng.choice(VAGUE_OPENINGS)}\n{opening}"
        elif rng.random() < TEXT_GREETING_CHANCE:
            opening = rng.choice(TEXT_GREETINGS) + opening[0].lower() + opening[1:]
    return Request(_in_own_words(rng, subject), _in_own_words(rng, opening))


# What people say on the side, whatever they write about: words of one stage in another's
# request, as real mail has them.
ASIDES = (
    "I've been a customer for a couple of years.",
    "I ordered from you before and was very happy.",
    "My partner recommended you.",
    "Sorry if this is the wrong address.",
    "Not sure this is the right place to ask.",
    "I'm a subscriber too, if that matters.",
    "I saw your post on Instagram last week.",
    "My last order number was {order}.",
    "A quick answer would be much appreciated.",
    "I tried calling but nobody picked up.",
    "I have the {machine} at home.",
    "We're a small office of {team}.",
    "I'll probably order more beans soon anyway.",
)
ASIDE_CHANCE = 0.35
# First lines and subjects that say nothing of what the request is about.
VAGUE_OPENINGS = (
    "hi",
    "Hello?",
    "Hi, I have a question",
    "hey quick question",
    "Can someone help me?",
    "hello is anyone there",
    "Hi there!",
)
VAGUE_SUBJECTS = ("Question", "Help please", "Hello", "Quick question", "Enquiry", "Hi")
VAGUE_CHANCE = 0.12
TEXT_GREETINGS = ("Hi, ", "hello ", "Hey! ", "Quick question: ", "Hi there, ", "good morning, ")
TEXT_GREETING_CHANCE = 0.25
# Everyday words and the others customers use for them (the first is the word itself).
SYNONYMS = {
    "machine": ("machine", "espresso machine", "coffee machine", "unit"),
    "grinder": ("grinder", "mill", "coffee grinder"),
    "order": ("order", "order", "purchase"),
    "delivery": ("delivery", "shipment", "parcel", "package"),
    "parcel": ("parcel", "package", "box"),
    "beans": ("beans", "coffee", "bags"),
    "broken": ("broken", "faulty", "busted", "not working"),
    "subscription": ("subscription", "membership", "monthly plan"),
    "question": ("question", "query", "quick question"),
    "buy": ("buy", "get", "purchase"),
    "send": ("send", "email", "mail"),
    "cost": ("cost", "price"),
    "deal": ("deal", "offer", "promo", "discount"),
    "refund": ("refund", "money back"),
    "today": ("today", "this morning", "earlier today"),
    "recommend": ("recommend", "suggest"),
    "help": ("help", "assist"),
    "team": ("team", "staff", "colleagues"),
}
SYNONYM_CHANCE = 0.5
# A word of SYNONYMS on its own, never a {placeholder}.
_SWAPPABLE = re.compile(r"(?<![{\w])(" + "|".join(SYNONYMS) + r")(?![}\w])")


def _in_own_words(rng: random.Random, text: str) -> str:
    return _SWAPPABLE.sub(
        lambda m: rng.choice(SYNONYMS[m[1]]) if rng.random() < SYNONYM_CHANCE else m[1], text
    )


# Short forms people type on a phone.
SHORT_FORMS = {
    "please": "pls",
    "thanks": "thx",
    "you": "u",
    "your": "ur",
    "tomorrow": "tmrw",
    "because": "bc",
    "message": "msg",
}
# How likely each roughening is per text, by channel (email is written with more care).
TYPO_CHANCE = {EMAIL: 0.2, SMS: 0.35, CHAT: 0.35}
LOWER_CHANCE = {EMAIL: 0.05, SMS: 0.4, CHAT: 0.4}
SHORT_FORM_CHANCE = {EMAIL: 0.0, SMS: 0.4, CHAT: 0.25}
_WORD = re.compile(r"\b[a-z]{4,}\b")


def roughen(rng: random.Random, text: str, channel: Channel) -> str:
    """The text as a hurried customer types it; the first word stays whole (a texted keyword
    such as ORDER is typed with care) and so do capitalised names and numbers."""
    first, _, rest = text.partition(" ")
    if rng.random() < TYPO_CHANCE[channel]:
        for _ in range(rng.choice((1, 1, 2))):
            rest = _typo(rng, rest)
    if rng.random() < SHORT_FORM_CHANCE[channel]:
        rest = re.sub(r"\b(" + "|".join(SHORT_FORMS) + r")\b", lambda m: SHORT_FORMS[m[1]], rest)
    text = f"{first} {rest}" if rest else first
    if rng.random() < LOWER_CHANCE[channel]:
        text = text.lower().rstrip(".!")
    return text


def _typo(rng: random.Random, text: str) -> str:
    """One slip of the fingers in a lower-case word: two letters swapped, one lost or doubled."""
    words = list(_WORD.finditer(text))
    if not words:
        return text
    found = rng.choice(words)
    letters, at = found[0], rng.randrange(1, len(found[0]) - 1)
    slip = rng.choice(("swap", "drop", "double"))
    if slip == "swap":
        letters = letters[:at] + letters[at + 1] + letters[at] + letters[at + 2 :]
    elif slip == "drop":
        letters = letters[:at] + letters[at + 1 :]
    else:
        letters = letters[:at] + letters[at] + letters[at:]
    return text[: found.start()] + letters + text[found.end() :]
