"""Playing the demo's stories: every story's steps through the ticket service, in time order
across all of them, as customers and agents would."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from channels.base import InboundMessage, Utm
from helpdesk.demo.company import (
    COMPANY,
    DOMAIN,
    MAILBOX,
    SITE,
    TEXT_LINE,
    StaffMember,
)
from helpdesk.demo.content import (
    CHAT,
    CITIES,
    COFFEES,
    COMPANIES,
    DELAYS,
    EMAIL,
    EXTRA_LINES,
    GRINDERS,
    MACHINES,
    NOTES,
    NPS_MOODS,
    NPS_SCORES,
    PLANS,
    PODCASTS,
    REOPENS,
    SMS,
    SURVEY_ANSWER_RATE,
    SURVEY_COMMENTS,
    SURVEY_SCORES,
    THANKS,
)
from helpdesk.demo.planning import (
    Plan,
    _ascii,
)
from helpdesk.demo.wording import roughen, word
from helpdesk.extensions import db
from helpdesk.models import (
    CustomerIdentity,
    IdentityKind,
    Message,
    Priority,
    Stage,
    SurveyKind,
    Ticket,
    TicketStatus,
    User,
)
from helpdesk.tickets import service

# How customers start and end a first email (some do neither).
GREETINGS = ("Hi,", "Hello,", "Hi there,", "Dear Ridgeline team,", "Good morning,", "hey", "")
CLOSINGS = ("Thanks,\n", "Best,\n", "Cheers,\n", "Kind regards,\n", "Thank you!\n", "")


@dataclass
class Cast:
    """The staff playing the agents, and what the stories share while they run."""

    agents: list[tuple[StaffMember, User]]
    manager: User
    seed: int
    now: datetime
    linked: set[str] = field(default_factory=set)  # people whose identities are joined up
    outbound: list[Message] = field(default_factory=list)


# --- playing ----------------------------------------------------------------------------------


def _play(stories: list[Story], cutoff: datetime) -> None:
    """Run every story's steps in time order across all stories, up to ``cutoff``."""
    queue = [(story.plan.start, story.plan.index, story.play()) for story in stories]
    heapq.heapify(queue)
    while queue:
        _, index, steps = heapq.heappop(queue)
        at = next(steps, None)
        if at is None:
            continue
        if at > cutoff:
            steps.close()  # the rest of this story has not happened yet
            continue
        heapq.heappush(queue, (at, index, steps))


def _external_id(seed: int, plan: Plan, count: int) -> str:
    """The provider id of a customer's message: derived, so loading twice is detectable."""
    if plan.template.channel == EMAIL:
        return f"<demo-{seed}-{plan.index}-{count}@{plan.profile.email.split('@')[1]}>"
    if plan.template.channel == SMS:
        return f"SM{seed:08x}{plan.index:016x}{count:08x}"
    return f"demo-{seed}-{plan.index}-{count}"


class Story:
    """One request played out; ``play`` is a generator of the times of its next steps."""

    def __init__(self, plan: Plan, cast: Cast) -> None:
        self.plan = plan
        self.template = plan.template
        self.cast = cast
        self.rng = random.Random(cast.seed * 100_003 + plan.index)
        specialists = [user for member, user in cast.agents if plan.template.stage in member.stages]
        everyone = [user for _, user in cast.agents]
        self.agent = self.rng.choice(specialists if self.rng.random() < 0.75 else everyone)
        self.fields = self._fields()
        # This customer's own words for the request, typed as they type.
        request = word(self.rng, plan.template)
        self.subject = roughen(self.rng, self._fill(request.subject), plan.template.channel)
        self.opening = roughen(self.rng, self._fill(request.opening), plan.template.channel)
        self.ticket: Ticket | None = None
        self.count = 0
        self.last_inbound: Message | None = None
        self.last_reply: Message | None = None

    def _fields(self) -> dict[str, str]:
        rng, profile, start = self.rng, self.plan.profile, self.plan.start
        machine, machine2 = rng.sample(MACHINES, 2)
        grinder, grinder2 = rng.sample(GRINDERS, 2)
        coffee, coffee2 = rng.sample(COFFEES, 2)
        soon = start + timedelta(days=rng.randint(2, 4))
        later = start + timedelta(days=rng.randint(10, 30))
        return {
            "first": profile.first,
            "name": profile.name,
            "agent": self.agent.name.split()[0],
            "machine": machine,
            "machine2": machine2,
            "grinder": grinder,
            "grinder2": grinder2,
            "coffee": coffee,
            "coffee2": coffee2,
            "order": f"RC-{rng.randint(20000, 48999)}",
            "order2": f"RC-{rng.randint(49000, 59999)}",
            "plan": rng.choice(PLANS),
            "city": rng.choice(CITIES),
            "podcast": rng.choice(PODCASTS),
            "company": rng.choice(COMPANIES),
            "amount": f"${rng.randint(18, 240)}.{rng.choice(('00', '50', '90'))}",
            "day": f"{soon:%A}",
            "date": f"{later:%B} {later.day}",
            "code": f"{_ascii(profile.first).upper()[:4]}-{rng.randint(10, 99)}",
            "team": str(rng.choice((8, 12, 15, 20, 25, 40))),
            "bags": rng.choice(("two", "three")),
        }

    def _fill(self, text: str) -> str:
        return text.format_map(self.fields)

    def _after(self, at: datetime, step: str) -> Iterator[datetime]:
        """Wait until the next step; quick answers are more common than slow ones."""
        low, high = DELAYS[step][self.template.channel]
        at = at + timedelta(seconds=round(low + (high - low) * self.rng.random() ** 2))
        yield at
        return at

    def play(self) -> Iterator[datetime]:
        """Open the request, answer it, and see it through as far as the clock allows."""
        t, rng = self.template, self.rng
        lines = [self.opening] if t.channel == EMAIL else self.opening.split("\n")
        at = self.plan.start
        self._write(lines[0], at)
        for line in lines[1:]:
            at = yield from self._after(at, "line")
            self._write(line, at)
        if t.channel == EMAIL and rng.random() < 0.12:
            at = yield from self._after(at, "line")
            self._write(self._fill(rng.choice(EXTRA_LINES)), at)
        recent = self.cast.now - self.plan.start
        if recent < timedelta(hours=16) and rng.random() < 0.5:
            return  # nobody has picked it up yet: the queue always has new requests
        at = yield from self._after(at, "triage")
        self._triage(at)
        at = yield from self._after(at, "respond")
        self._reply(t.reply, at)
        # Solving right after the first reply only makes sense when it asked nothing.
        single = 0 if "?" in t.reply else 25
        path = rng.choices(("talk", "single", "silent", "stuck"), weights=(50, single, 17, 8))[0]
        if path == "stuck" and recent < timedelta(days=7) and not self.plan.must_close:
            at = yield from self._after(at, "answer")
            self._write(self._fill(t.answer), at)
            return  # the customer answered and the ticket waits in the queue
        if path == "silent":
            at = yield from self._silence(at)
        elif path == "single":
            at = yield from self._after(at, "wrap")
        else:
            at = yield from self._talk(at)
        self._set_status(TicketStatus.SOLVED, at)
        at = yield from self._rate(at)
        yield from self._aftercare(at)

    def _talk(self, at: datetime) -> Iterator[datetime]:
        if self.template.channel != CHAT and self.rng.random() < 0.5:
            self._set_status(TicketStatus.PENDING, at + timedelta(seconds=5))
        at = yield from self._after(at, "answer")
        self._write(self._fill(self.template.answer), at)
        at = yield from self._after(at, "respond")
        if self.rng.random() < 0.06:
            self._hand_over(at)
        self._reply(self.template.resolution, at + timedelta(seconds=5))
        if self.rng.random() < 0.4:
            at = yield from self._after(at, "thanks")
            self._write(self._fill(self.rng.choice(THANKS)), at)
        return (yield from self._after(at, "wrap"))

    def _silence(self, at: datetime) -> Iterator[datetime]:
        self._set_status(TicketStatus.PENDING, at + timedelta(seconds=5))
        at = yield from self._after(at, "stall")
        days = (at - self.last_reply.created_at).days
        self._note(f"No answer from the customer for {days} days; solving. A reply reopens it.", at)
        return at + timedelta(seconds=5)

    def _aftercare(self, at: datetime) -> Iterator[datetime]:
        """Maybe reopened within the window; maybe closed; maybe followed up weeks later."""
        solved = at
        if not self.plan.must_close and self.rng.random() < 0.1:
            line, answer = self.rng.choice(REOPENS)
            at = yield from self._after(at, "reopen")
            self._write(self._fill(line), at)
            at = yield from self._after(at, "respond")
            # A reopened ticket goes back to its team when its agent is away; they take it up.
            if self.ticket.assignee is None:
                service.assign(self.ticket, self.agent, self.agent, at=at)
            self._reply(answer, at + timedelta(seconds=2))
            at = yield from self._after(at, "wrap")
            self._set_status(TicketStatus.SOLVED, at)
            solved = at
        if self.plan.must_close or self.rng.random() < 0.55:
            quick = self.plan.must_close and self.template.channel == SMS
            at = yield from self._after(solved, "close soon" if quick else "close")
            self._set_status(TicketStatus.CLOSED, at)
            if self.plan.follow_up:
                yield from self._come_back(at)

    def _rate(self, at: datetime) -> Iterator[datetime]:
        """The survey question the solve asked (the demo gives every stage one); some
        customers answer it."""
        survey = service.survey_of(self.ticket)
        if survey is None:
            return at  # asked on another ticket of theirs lately
        if self.rng.random() >= SURVEY_ANSWER_RATE:
            return at
        at = yield from self._after(at, "thanks")
        score = self._score(survey.kind)
        if self.template.channel == SMS:
            self._write(str(score), at)  # a bare number answers the question, as texts do
        else:
            comment = (
                self._fill(self.rng.choice(SURVEY_COMMENTS[self._mood(survey.kind, score)]))
                if self.rng.random() < 0.4
                else None
            )
            service.answer_survey(survey, score, comment, at=at)
        return at

    def _score(self, kind: SurveyKind) -> int:
        if kind == SurveyKind.NPS:
            return self.rng.choices(range(11), weights=NPS_SCORES)[0]
        weights = SURVEY_SCORES.get(self.template.stage, SURVEY_SCORES[None])
        return self.rng.choices(range(1, 6), weights=weights)[0]

    @staticmethod
    def _mood(kind: SurveyKind, score: int) -> int:
        """The 1-5 mood of a score, to pick a comment that fits it."""
        return score if kind == SurveyKind.CSAT else NPS_MOODS[score]

    def _come_back(self, at: datetime) -> Iterator[datetime]:
        """The customer answers an old email of ours; the service opens a linked ticket."""
        line, answer = self.template.comeback
        at = yield from self._after(at, "follow up")
        self._write(self._fill(line), at)
        at = yield from self._after(at, "triage")
        service.assign(self.ticket, self.agent, self.agent, at=at)
        at = yield from self._after(at, "respond")
        self._reply(answer, at)
        at = yield from self._after(at, "wrap")
        self._set_status(TicketStatus.SOLVED, at)

    # --- the customer's side ---

    def _write(self, body: str, at: datetime) -> None:
        message = service.receive(self._inbound(body, at))
        self.count += 1
        self.ticket = message.ticket
        self.last_inbound = message
        self._confirm_typed_address(at)
        self._join_identities(at)

    def _confirm_typed_address(self, at: datetime) -> None:
        """A chat visitor opens the link that proves the address they typed, so their chats
        join the rest of their history (a typed address alone never does)."""
        claim = next((i for i in self.ticket.customer.identities if not i.verified), None)
        if claim is not None:
            service.confirm_identity(claim, self.ticket, "by the emailed link", at=at)

    def _inbound(self, body: str, at: datetime) -> InboundMessage:
        profile, t = self.plan.profile, self.template
        external_id = _external_id(self.cast.seed, self.plan, self.count)
        if t.channel == SMS:
            return InboundMessage(
                SMS,
                TEXT_LINE,
                external_id,
                profile.phone,
                body,
                recipient=TEXT_LINE,
                received_at=at,
            )
        if t.channel == CHAT:
            url = f"https://{SITE}{t.page}"
            tags = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
            return InboundMessage(
                CHAT,
                SITE,
                external_id,
                profile.visitor,
                body,
                sender_name=profile.name,
                received_at=at,
                conversation_id=f"demo-{self.cast.seed}-{self.plan.index}",
                page_url=url,
                utm=Utm(tags.get("utm_source"), tags.get("utm_medium"), tags.get("utm_campaign")),
                chosen_stage=t.stage.value if t.chosen else None,
                email=profile.email,
                host_user_id=profile.account,
            )
        return InboundMessage(
            EMAIL,
            MAILBOX,
            external_id,
            profile.email,
            self._customer_email(body),
            sender_name=profile.name,
            recipient=f"{t.to}@{DOMAIN}" if self.count == 0 else MAILBOX,
            subject=self._email_subject(),
            thread_hints=self._thread_hints(),
            received_at=at,
        )

    def _customer_email(self, body: str) -> str:
        signature = self.rng.choice((self.plan.profile.first, self.plan.profile.name))
        if self.count:  # answers on a thread are short
            return f"{body}\n\n{signature}"
        greeting = self.rng.choice(GREETINGS)
        closing = self.rng.choice(CLOSINGS)
        return "\n\n".join(part for part in (greeting, body, f"{closing}{signature}") if part)

    def _email_subject(self) -> str:
        if self.last_reply is not None:
            return self.last_reply.subject
        return self.subject if self.count == 0 else f"Re: {self.subject}"

    def _thread_hints(self) -> tuple[str, ...]:
        """In-Reply-To our latest reply, else the customer's own previous mail."""
        if self.last_reply is not None:
            return (self.last_reply.external_id,)
        if self.last_inbound is not None:
            return (self.last_inbound.external_id,)
        return ()

    def _join_identities(self, at: datetime) -> None:
        """On first contact, record the other ways a two-channel customer reaches us.

        The service never joins identities by itself (that is an agent's call); the demo plays
        the agent who already knows this person's email address and phone number.
        """
        profile = self.plan.profile
        if not (profile.email and profile.phone) or profile.email in self.cast.linked:
            return
        self.cast.linked.add(profile.email)
        for kind, value in (
            (IdentityKind.EMAIL, profile.email),
            (IdentityKind.PHONE, profile.phone),
        ):
            known = db.session.scalar(
                select(CustomerIdentity.id).where(
                    CustomerIdentity.kind == kind,
                    CustomerIdentity.value == value,
                    CustomerIdentity.verified_at.is_not(None),
                )
            )
            if known is None:
                db.session.add(
                    CustomerIdentity(
                        customer=self.ticket.customer,
                        kind=kind,
                        value=value,
                        verified_at=at,
                        created_at=at,
                    )
                )

    # --- the agents' side ---

    def _triage(self, at: datetime) -> None:
        t, rng, ticket = self.template, self.rng, self.ticket
        # The stage first: correcting it routes the ticket again, and a team change would
        # take it from an assignee outside the new team.
        if ticket.stage != t.stage:
            service.set_stage(
                ticket,
                self.agent,
                t.stage,
                reason=f"{t.correction or 'corrected'} (set by {self.agent.name})",
                at=at,
            )
        self_service = t.channel == CHAT or rng.random() < 0.6
        assigner = self.agent if self_service else self.cast.manager
        service.assign(ticket, assigner, self.agent, at=at + timedelta(seconds=2))
        priority = t.priority or self._usual_priority()
        service.set_priority(ticket, self.agent, priority, at=at + timedelta(seconds=4))
        note = t.note if t.note and rng.random() < 0.5 else None
        if note is None and rng.random() < 0.15:
            note = rng.choice(NOTES)
        if note:
            self._note(note, at + timedelta(seconds=6))

    def _usual_priority(self) -> Priority:
        roll = self.rng.random()
        if roll < 0.07:
            return Priority.HIGH
        relaxed = (Stage.AWARENESS, Stage.CULTIVATION, Stage.ADVOCACY)
        if self.template.stage in relaxed and roll < 0.3:
            return Priority.LOW
        return Priority.NORMAL

    def _hand_over(self, at: datetime) -> None:
        member, colleague = self.rng.choice(
            [(m, u) for m, u in self.cast.agents if u is not self.agent]
        )
        self._note(f"Handing this over to {member.first}, who knows {member.topic} best.", at)
        service.assign(self.ticket, self.agent, colleague, at=at + timedelta(seconds=2))
        self.agent = colleague
        self.fields["agent"] = member.first

    def _reply(self, body: str, at: datetime) -> None:
        text = self._fill(body)
        first = self.agent.name.split()[0]
        if self.template.channel == EMAIL:
            sign = self.rng.choice(("Best,", "Kind regards,", "All the best,", "Cheers,"))
            hello = f"Hi {self.plan.profile.first},"
            text = f"{hello}\n\n{text}\n\n{sign}\n{first}\n{COMPANY}"
        elif self.template.channel == SMS:
            text = f"{text}\n- {first}, {COMPANY}"
        self.last_reply = service.reply(self.ticket, self.agent, text, at=at)
        self.cast.outbound.append(self.last_reply)

    def _note(self, text: str, at: datetime) -> None:
        service.add_note(self.ticket, self.agent, self._fill(text), at=at)

    def _set_status(self, status: TicketStatus, at: datetime) -> None:
        service.set_status(self.ticket, self.agent, status, at=at)
        survey = service.survey_of(self.ticket) if status == TicketStatus.SOLVED else None
        if survey is not None and survey.sent_at == at and survey.question is not None:
            # This solve asked the survey question: delivered like every demo message.
            self.cast.outbound.append(survey.question)
