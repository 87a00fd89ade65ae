"""The admin's survey settings: which question each journey stage asks (CSAT, NPS or none), how
an unhappy answer is followed up, and how often one customer may be asked."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.models import FollowUpMode, Stage, StageSurvey, SurveyKind, SurveyPolicy
from helpdesk.tickets.errors import InvalidInput

DEFAULT_INTERVAL_DAYS = 30
MAX_INTERVAL_DAYS = 365


def policy() -> SurveyPolicy:
    """The install's follow-up mode and ask interval (the defaults until an admin saves)."""
    found = db.session.scalar(select(SurveyPolicy).order_by(SurveyPolicy.id).limit(1))
    return found or SurveyPolicy(
        follow_up=FollowUpMode.FLAG, ask_interval_days=DEFAULT_INTERVAL_DAYS
    )


def stage_kinds() -> dict[Stage, SurveyKind]:
    """The question each stage asks; stages left out ask none."""
    return {row.stage: row.kind for row in db.session.scalars(select(StageSurvey))}


def per_stage() -> bool:
    """True once an admin has chosen a question for any stage (HELPDESK_CSAT then steps aside)."""
    return db.session.scalar(select(StageSurvey.stage).limit(1)) is not None


def save(
    kinds: Mapping[Stage, SurveyKind | None], follow_up: FollowUpMode, interval_days: int
) -> None:
    """Store the per-stage questions (None: no survey) and the install's follow-up settings."""
    if not 0 <= interval_days <= MAX_INTERVAL_DAYS:
        raise InvalidInput(f"the interval is 0 to {MAX_INTERVAL_DAYS} days")
    rows = {row.stage: row for row in db.session.scalars(select(StageSurvey))}
    for stage, kind in kinds.items():
        row = rows.get(stage)
        if kind is None and row is not None:
            db.session.delete(row)
        elif kind is not None and row is None:
            db.session.add(StageSurvey(stage=stage, kind=kind))
        elif kind is not None:
            row.kind = kind
    current = policy()
    if current.id is None:
        db.session.add(current)
    current.follow_up, current.ask_interval_days = follow_up, interval_days
    db.session.flush()
