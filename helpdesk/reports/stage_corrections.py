"""How often agents corrected the journey stage inference gave a ticket: what the stage
corrections page, its CSV and the API show.

The tickets are those a ``ReportRange`` covers (created in it, narrowed, never merged). Each
counts once, from its intake stage to the stage it had at the *end* of the range: the latest
stage change made before the range ended, else its intake stage. A change made after the range
ended does not count, so a report on a past range reads the same tomorrow. A ticket whose final
stage is its intake stage (never corrected, or corrected and set back) is *kept*; its
corrections (stage changes up to the end of the range) are counted all the same. Figures and
drill-down lists come from one query (``outcomes``), so every figure lists exactly its tickets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, String, Subquery, func, select, type_coerce
from sqlalchemy.orm import joinedload

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models import Stage, Ticket, TicketEvent
from helpdesk.reports.stage_load import ReportRange
from helpdesk.tickets.queries import InvalidFilter

# Which tickets of a figure's cell: those whose stage ended elsewhere, stayed, or was changed.
OUTCOMES = ("corrected", "kept", "changed")
PAGE_SIZE = 100


@dataclass(slots=True)
class Tally:
    """Tickets, how many ended on another stage than intake gave them, and stage changes."""

    tickets: int = 0
    corrected: int = 0
    corrections: int = 0

    @property
    def rate(self) -> float | None:
        return round(self.corrected / self.tickets, 4) if self.tickets else None

    def add(self, tickets: int, corrected: int, corrections: int) -> None:
        """Count a group of tickets in."""
        self.tickets += tickets
        self.corrected += corrected
        self.corrections += corrections


@dataclass(slots=True)
class RuleTally(Tally):
    """A rule's tickets, and where its corrected tickets went: final stage → tickets."""

    corrected_to: Counter[Stage] = field(default_factory=Counter)

    @property
    def most_common(self) -> tuple[Stage, int] | None:
        """The stage its tickets were most often corrected to (the first in journey order on a
        tie, so both databases give the same answer)."""
        if not self.corrected_to:
            return None
        order = list(Stage)
        return min(self.corrected_to.items(), key=lambda item: (-item[1], order.index(item[0])))


@dataclass(slots=True)
class StageCorrections:
    """Every figure of the report for one range."""

    range: ReportRange
    # (intake stage, final stage) → tickets; only pairs that occur.
    matrix: dict[tuple[Stage, Stage], Tally] = field(default_factory=dict)
    by_intake: dict[Stage, Tally] = field(default_factory=dict)
    # Rule name (None: no rule decided) → its tickets.
    by_rule: dict[str | None, RuleTally] = field(default_factory=dict)
    by_channel: dict[Channel, Tally] = field(default_factory=dict)
    total: Tally = field(default_factory=Tally)

    def final_stages(self, intake: Stage) -> dict[Stage, int]:
        """Tickets per final stage for one intake stage, every stage included."""
        return {
            final: self.matrix[(intake, final)].tickets if (intake, final) in self.matrix else 0
            for final in Stage
        }

    def tables(self) -> dict[str, list[dict]]:
        """The page's tables as rows: the CSV's and the API's shape."""
        return {
            "matrix": [
                {"intake_stage": i.value, "final_stage": f.value, **_counts(tally)}
                for (i, f), tally in sorted(self.matrix.items(), key=_stage_pair_order)
            ],
            "intake_stages": [
                {"intake_stage": stage.value, **_figures(self.by_intake[stage])} for stage in Stage
            ],
            "rules": [
                {
                    "rule": rule,
                    **_figures(tally),
                    "most_common_correction": _most_common(tally),
                }
                for rule, tally in self.by_rule.items()
            ],
            "channels": [
                {"channel": channel.value, **_figures(self.by_channel[channel])}
                for channel in Channel
            ],
        }


def _stage_pair_order(item: tuple[tuple[Stage, Stage], Tally]) -> tuple[int, int]:
    order = list(Stage)
    (intake, final), _ = item
    return order.index(intake), order.index(final)


def _counts(tally: Tally) -> dict:
    return {"tickets": tally.tickets, "corrections": tally.corrections}


def _figures(tally: Tally) -> dict:
    return {
        "tickets": tally.tickets,
        "corrected": tally.corrected,
        "correction_rate": tally.rate,
        "corrections": tally.corrections,
    }


def _most_common(tally: RuleTally) -> dict | None:
    found = tally.most_common
    return {"final_stage": found[0].value, "tickets": found[1]} if found else None


# --- the one query ----------------------------------------------------------------------------


def outcomes(report: ReportRange) -> Subquery:
    """One row per ticket of the range: id, intake_stage, final_stage, intake_rule, channel,
    corrections (stage changes before the range ended)."""
    covered = select(Ticket.id).where(*report.conditions())
    # Copies of a merged ticket's events tell its story on the target; they are not changes.
    changes = (
        select(
            TicketEvent.ticket_id,
            TicketEvent.to_value,
            func.row_number()
            .over(
                partition_by=TicketEvent.ticket_id,
                order_by=(TicketEvent.created_at.desc(), TicketEvent.id.desc()),
            )
            .label("latest"),
            func.count().over(partition_by=TicketEvent.ticket_id).label("corrections"),
        )
        .where(
            TicketEvent.kind == "stage",
            TicketEvent.merged_from_id.is_(None),
            TicketEvent.created_at < report.end,
            TicketEvent.ticket_id.in_(covered),
        )
        .subquery()
    )
    intake = type_coerce(Ticket.intake_stage, String)
    return (
        select(
            Ticket.id,
            intake.label("intake_stage"),
            func.coalesce(changes.c.to_value, intake).label("final_stage"),
            Ticket.intake_rule,
            type_coerce(Ticket.channel, String).label("channel"),
            func.coalesce(changes.c.corrections, 0).label("corrections"),
        )
        .outerjoin(changes, (changes.c.ticket_id == Ticket.id) & (changes.c.latest == 1))
        .where(*report.conditions())
        .subquery()
    )


def stage_corrections(report: ReportRange) -> StageCorrections:
    """Every figure of the report for one range, from one grouped query."""
    rows = outcomes(report)
    grouped = db.session.execute(
        select(
            rows.c.intake_stage,
            rows.c.final_stage,
            rows.c.intake_rule,
            rows.c.channel,
            func.count(),
            func.sum(rows.c.corrections),
        ).group_by(rows.c.intake_stage, rows.c.final_stage, rows.c.intake_rule, rows.c.channel)
    )
    found = StageCorrections(
        report,
        by_intake={stage: Tally() for stage in Stage},
        by_channel={channel: Tally() for channel in Channel},
    )
    for intake_value, final_value, rule, channel, tickets, corrections in grouped:
        intake, final = Stage(intake_value), Stage(final_value)
        corrected = tickets if final != intake else 0
        counts = (tickets, corrected, int(corrections))
        found.matrix.setdefault((intake, final), Tally()).add(*counts)
        found.by_intake[intake].add(*counts)
        found.by_channel[Channel(channel)].add(*counts)
        found.total.add(*counts)
        tally = found.by_rule.setdefault(rule, RuleTally())
        tally.add(*counts)
        if corrected:
            tally.corrected_to[final] += corrected
    # Rules by name, "no rule" last.
    found.by_rule = dict(
        sorted(found.by_rule.items(), key=lambda item: (item[0] is None, item[0] or ""))
    )
    return found


# --- drill-down -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """Which tickets of the range one figure counts; None leaves that side open."""

    intake: Stage | None = None
    final: Stage | None = None
    rule: str | None = None
    no_rule: bool = False
    outcome: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Cell:
        """Read ``intake``, ``final``, ``rule``, ``no_rule`` and ``outcome``."""
        outcome = args.get("outcome") or None
        if outcome is not None and outcome not in OUTCOMES:
            raise InvalidFilter(f"outcome must be one of {', '.join(OUTCOMES)}")
        return cls(
            _stage(args.get("intake"), "intake"),
            _stage(args.get("final"), "final"),
            args.get("rule") or None,
            args.get("no_rule") == "1",
            outcome,
        )

    def args(self) -> dict[str, str]:
        """The query parameters that read back as this cell."""
        found = {
            "intake": self.intake.value if self.intake else None,
            "final": self.final.value if self.final else None,
            "rule": self.rule,
            "no_rule": "1" if self.no_rule else None,
            "outcome": self.outcome,
        }
        return {name: value for name, value in found.items() if value}


def _stage(value: str | None, name: str) -> Stage | None:
    if not value:
        return None
    try:
        return Stage(value)
    except ValueError:
        raise InvalidFilter(f"{name} must be a journey stage, not {value!r}") from None


def _in_cell(rows: Subquery, cell: Cell) -> list[ColumnElement[bool]]:
    """Conditions on ``outcomes`` rows that pick one cell's tickets."""
    found = []
    if cell.intake:
        found.append(rows.c.intake_stage == cell.intake.value)
    if cell.final:
        found.append(rows.c.final_stage == cell.final.value)
    if cell.rule:
        found.append(rows.c.intake_rule == cell.rule)
    if cell.no_rule:
        found.append(rows.c.intake_rule.is_(None))
    if cell.outcome == "corrected":
        found.append(rows.c.final_stage != rows.c.intake_stage)
    elif cell.outcome == "kept":
        found.append(rows.c.final_stage == rows.c.intake_stage)
    elif cell.outcome == "changed":
        found.append(rows.c.corrections > 0)
    return found


@dataclass(frozen=True, slots=True)
class Outcome:
    """One ticket of a drill-down list: the stage it had at the end of the range and the
    number of corrections up to then."""

    ticket: Ticket
    final_stage: Stage
    corrections: int


def ticket_outcomes(report: ReportRange, cell: Cell, page: int = 1) -> tuple[list[Outcome], int]:
    """One page of a cell's tickets, and how many it has in all."""
    rows = outcomes(report)
    chosen = _in_cell(rows, cell)
    count = db.session.scalar(select(func.count()).select_from(rows).where(*chosen))
    listed = db.session.execute(
        select(Ticket, rows.c.final_stage, rows.c.corrections)
        .join(rows, rows.c.id == Ticket.id)
        .where(*chosen)
        .options(joinedload(Ticket.assignee))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    )
    found = [Outcome(ticket, Stage(final), corrections) for ticket, final, corrections in listed]
    return found, count
