"""Schemas the stage-load report adds for its comparison with the previous period."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from helpdesk.models import Stage
from helpdesk.reports.stage_load import HotSpot as HotSpotRow


class HotSpot(BaseModel):
    """A stage whose arrivals or SLA breach rate moved most against the previous period."""

    stage: Stage
    figure: Literal["arrivals", "sla_breach_rate"]
    previous: float
    current: float
    change: float = Field(
        description="current minus previous: tickets for arrivals, percentage points for the "
        "breach rate (a 0–1 rate like `sla_breach_rate`)."
    )

    @classmethod
    def of(cls, spot: HotSpotRow) -> HotSpot:
        """The API's shape of one hot spot."""
        return cls(
            stage=spot.stage,
            figure=spot.figure,
            previous=round(spot.previous, 4),
            current=round(spot.current, 4),
            change=spot.delta,
        )
