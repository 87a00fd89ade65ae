"""Figures kept ready for the reports, so a report reads days rather than tickets."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, LargeBinary, SmallInteger
from sqlalchemy.orm import Mapped, mapped_column

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Stage, enum_column

# team_id and assignee_id of the rollup rows that count every team or every assignee together.
ANY = 0


class StageDelta(db.Model):
    """One ticket's contribution to the stage dashboard, added (sign 1) or taken back (sign -1)
    by the transaction that moved it; only ever inserted, so writers never wait on each other.
    The worker folds them into ``stage_rollups`` (helpdesk/reports/rollup_rows.py)."""

    __tablename__ = "stage_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign: Mapped[int] = mapped_column(SmallInteger)
    day: Mapped[date] = mapped_column(Date)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    proactive: Mapped[bool]
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]
    reopened: Mapped[bool]
    with_target: Mapped[bool]
    breached: Mapped[bool]
    score: Mapped[int | None]
    first_response_seconds: Mapped[int | None]
    resolution_seconds: Mapped[int | None]


class StageRollup(db.Model):
    """Every ticket created on one local day, in one team and with one assignee, as the stage
    dashboard counts them: per stage, channel and source, the counts and the first-response and
    resolution seconds, packed into one blob (layout in helpdesk/reports/rollup_rows.py), so a
    year's report reads 365 rows and its percentiles stay exact to the second.

    Besides the row of its own team and assignee, each ticket counts in the rows where either
    or both are ``ANY``. Only the folder and the rebuild write here, one at a time.
    """

    __tablename__ = "stage_rollups"

    team_id: Mapped[int] = mapped_column(primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    packed: Mapped[bytes] = mapped_column(LargeBinary)


class JourneyDelta(db.Model):
    """One step of a customer's journey (their previous reported request and this one) as one
    scope of the dashboard's filters sees it, added (sign 1) or taken back (sign -1) by the
    transaction that changed it; only ever inserted. The worker folds them into
    ``journey_rollups`` (helpdesk/reports/journey_rollups.py)."""

    __tablename__ = "journey_deltas"

    id: Mapped[int] = mapped_column(primary_key=True)
    sign: Mapped[int] = mapped_column(SmallInteger)
    team_id: Mapped[int]
    assignee_id: Mapped[int]
    chain: Mapped[int] = mapped_column(SmallInteger)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel))
    proactive: Mapped[bool]
    stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    earlier_stage: Mapped[Stage] = mapped_column(enum_column(Stage))
    earlier_day: Mapped[date] = mapped_column(Date)


class JourneyRollup(db.Model):
    """The journey steps whose later request arrived on one local day, as one scope of filters
    sees them (team and assignee, ``ANY`` for either; ``chain`` says whether the previous
    request had to be on the same channel and of the same source), packed into one blob
    (layout in helpdesk/reports/journey_rows.py). Only the folder and the rebuild write
    here, one at a time."""

    __tablename__ = "journey_rollups"

    team_id: Mapped[int] = mapped_column(primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True)
    chain: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    packed: Mapped[bytes] = mapped_column(LargeBinary)
