"""Figures kept ready for the reports, so a report reads days rather than tickets."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date
from sqlalchemy.orm import Mapped, mapped_column

from channels.base import Channel
from helpdesk.extensions import db
from helpdesk.models.base import Stage, enum_column

# team_id and assignee_id of the rows that count every team or every assignee together.
ANY = 0


class StageRollup(db.Model):
    """The tickets created on one local day with one stage, channel, source, team and assignee,
    as the stage dashboard counts them (kept by helpdesk/reports/rollups.py).

    Besides the row of its own team and assignee, each ticket counts in the rows where either
    or both are ``ANY``, so a report with no agent or team filter reads a few dozen rows a day.
    """

    __tablename__ = "stage_rollups"

    team_id: Mapped[int] = mapped_column(primary_key=True)
    assignee_id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage), primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_column(Channel), primary_key=True)
    proactive: Mapped[bool] = mapped_column(primary_key=True)
    arrivals: Mapped[int] = mapped_column(default=0)
    reopened: Mapped[int] = mapped_column(default=0)
    with_target: Mapped[int] = mapped_column(default=0)
    breached: Mapped[int] = mapped_column(default=0)
    csat_total: Mapped[int] = mapped_column(default=0)
    csat_count: Mapped[int] = mapped_column(default=0)
