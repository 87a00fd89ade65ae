"""Planning the demo: who the customers are and who writes what, on which channel, when."""

from __future__ import annotations

import math
import random
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from channels.base import Channel
from helpdesk.demo.company import (
    DAYS,
)
from helpdesk.demo.content import (
    AREA_CODES,
    CHANNEL_SHARE,
    CHAT,
    EMAIL,
    FIRST_NAMES,
    HOUR_WEIGHTS,
    LAST_NAMES,
    MAIL_DOMAINS,
    MAX_TEXT_REQUESTS,
    SMS,
    TEMPLATES,
    TEXT_GAP,
)
from helpdesk.demo.wording import Template


@dataclass(frozen=True, slots=True)
class Profile:
    """A demo customer: who they are and where they can reach us from."""

    first: str
    last: str
    email: str | None
    phone: str | None
    visitor: str | None  # the chat visitor id of their browser
    account: str | None  # a shop account id, passed by the website when logged in

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"

    @property
    def channels(self) -> tuple[Channel, ...]:
        return tuple(
            channel
            for channel, reach in ((EMAIL, self.email), (SMS, self.phone), (CHAT, self.visitor))
            if reach
        )


@dataclass(frozen=True, slots=True)
class Plan:
    """One request to play out: who asks what, when it starts, and how it must end."""

    index: int
    template: Template
    profile: Profile
    start: datetime
    must_close: bool = False  # the next text from this number has to open a new ticket
    follow_up: bool = False  # the customer writes back weeks after it was closed


# --- planning ---------------------------------------------------------------------------------


def _plan(rng: random.Random, tickets: int, customers: int, now: datetime) -> list[Plan]:
    """Who writes what and when; follow-ups to closed tickets count as tickets of their own."""
    profiles = _profiles(rng, customers)
    follow_ups = tickets // 50
    channels = _channel_slots(rng, tickets - follow_ups)
    owners = _owners(rng, profiles, channels)
    by_channel = {
        channel: [t for t in TEMPLATES if t.channel == channel] for channel in CHANNEL_SHARE
    }
    templates = [
        rng.choices(by_channel[c], weights=[t.weight for t in by_channel[c]])[0] for c in channels
    ]
    starts = {i: _start(rng, now) for i, c in enumerate(channels) if c != SMS}
    must_close = _text_slots(rng, owners, channels, now, starts)
    coming_back = _follow_up_picks(rng, templates, follow_ups)
    for index in sorted(coming_back):
        starts[index] = (now - timedelta(days=rng.uniform(35, DAYS - 1))).replace(microsecond=0)
    return [
        Plan(
            index,
            templates[index],
            owners[index],
            starts[index],
            must_close=index in must_close or index in coming_back,
            follow_up=index in coming_back,
        )
        for index in range(len(channels))
    ]


def _profiles(rng: random.Random, count: int) -> list[Profile]:
    names = rng.sample([(f, last) for f in FIRST_NAMES for last in LAST_NAMES], count)
    numbers = rng.sample(
        [f"+1{area}55501{n:02d}" for area in AREA_CODES for n in range(100)], count
    )
    profiles = []
    for index, (first, last) in enumerate(names):
        share = index / count
        # A fifth use email and text alike; then text-only, chat-only and email people.
        email = None if 0.2 <= share < 0.55 else _email_address(rng, first, last)
        phone = numbers[index] if share < 0.35 else None
        visitor = None if 0.2 <= share < 0.35 else f"v-{rng.getrandbits(64):016x}"
        account = f"acct-{rng.randint(10000, 99999)}" if email and rng.random() < 0.3 else None
        profiles.append(Profile(first, last, email, phone, visitor, account))
    return profiles


def _email_address(rng: random.Random, first: str, last: str) -> str:
    first, last = (_ascii(part) for part in (first, last))
    local = rng.choice((f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(2, 99)}"))
    return f"{local}@{rng.choice(MAIL_DOMAINS)}"


def _ascii(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def _channel_slots(rng: random.Random, count: int) -> list[Channel]:
    sizes = {channel: round(count * share) for channel, share in CHANNEL_SHARE.items()}
    sizes[EMAIL] += count - sum(sizes.values())
    slots = [channel for channel, size in sizes.items() for _ in range(size)]
    rng.shuffle(slots)
    return slots


def _owners(rng: random.Random, profiles: list[Profile], channels: list[Channel]) -> list[Profile]:
    """Everyone asks at least once; some ask far more often than others."""
    activity = [rng.choice((1, 1, 1, 2, 3, 5)) for _ in profiles]
    texts: dict[int, int] = defaultdict(int)
    owners: list[Profile | None] = [None] * len(channels)
    open_slots: dict[Channel, list[int]] = defaultdict(list)
    for index, channel in enumerate(channels):
        open_slots[channel].append(index)
    for who, profile in enumerate(profiles):
        usable = [c for c in profile.channels if open_slots[c]]
        if usable:
            channel = rng.choice(usable)
            owners[open_slots[channel].pop()] = profile
            texts[who] += channel == SMS
    for index, channel in enumerate(channels):
        if owners[index] is not None:
            continue
        eligible = [
            who
            for who, p in enumerate(profiles)
            if channel in p.channels and (channel != SMS or texts[who] < MAX_TEXT_REQUESTS)
        ]
        if not eligible:  # tiny demos: more texts than text customers can send
            channels[index] = channel = EMAIL
            eligible = [who for who, p in enumerate(profiles) if p.email]
        who = rng.choices(eligible, weights=[activity[w] for w in eligible])[0]
        owners[index] = profiles[who]
        texts[who] += channel == SMS
    return owners


def _start(rng: random.Random, now: datetime) -> datetime:
    """A moment in the last DAYS days: busier lately, on weekdays and in the daytime."""
    while True:
        # More requests in recent weeks, as a growing shop would see.
        day = (now - timedelta(days=DAYS * (1 - math.sqrt(rng.random())))).date()
        if day.weekday() >= 5 and rng.random() < 0.4:
            continue
        hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
        at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(3600)
        )
        if timedelta(days=DAYS - 1) > now - at > timedelta(minutes=10):
            return at


def _text_slots(
    rng: random.Random,
    owners: list[Profile],
    channels: list[Channel],
    now: datetime,
    starts: dict[int, datetime],
) -> set[int]:
    """Space each number's text requests out; all but its last must end closed."""
    by_phone: dict[str, list[int]] = defaultdict(list)
    for index, channel in enumerate(channels):
        if channel == SMS:
            by_phone[owners[index].phone].append(index)
    must_close = set()
    first, last = now - timedelta(days=DAYS - 1), now - timedelta(minutes=10)
    for indexes in by_phone.values():
        # Moments at least TEXT_GAP apart: draw in the shortened window (busier lately, like
        # _start), then spread them out.
        free = last - first - TEXT_GAP * (len(indexes) - 1)
        offsets = sorted(free * math.sqrt(rng.random()) for _ in indexes)
        for n, (index, offset) in enumerate(zip(indexes, offsets, strict=True)):
            starts[index] = (first + offset + TEXT_GAP * n).replace(microsecond=0)
        must_close.update(indexes[:-1])
    return must_close


def _follow_up_picks(rng: random.Random, templates: list[Template], count: int) -> set[int]:
    candidates = [i for i, t in enumerate(templates) if t.comeback]
    return set(rng.sample(candidates, min(count, len(candidates))))
