"""Teams of agents: who works which tickets, and how new tickets find an agent."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.extensions import db
from helpdesk.models.base import UtcDateTime, enum_column, utcnow
from helpdesk.models.people import User


class AssignmentMode(StrEnum):
    """How a team's new tickets get an agent."""

    OFF = "off"  # they wait in the team's queue until someone takes them
    ROUND_ROBIN = "round_robin"  # to the assignable member who was given one longest ago
    LEAST_OPEN = "least_open"  # to the assignable member with the fewest new and open tickets


class Team(db.Model):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    assignment: Mapped[AssignmentMode] = mapped_column(
        enum_column(AssignmentMode), default=AssignmentMode.OFF, server_default="off"
    )
    # Most new and open tickets an agent holds before automatic assignment passes them by.
    capacity: Mapped[int] = mapped_column(default=10, server_default="10")
    # When a member goes away, their tickets without an agent reply yet go back to the team.
    return_unanswered_when_away: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    memberships: Mapped[list[TeamMember]] = relationship(
        back_populates="team", cascade="all, delete-orphan"
    )
    members: Mapped[list[User]] = relationship(
        secondary="team_members", order_by=User.name, viewonly=True
    )

    def has_member(self, user_id: int) -> bool:
        return any(membership.user_id == user_id for membership in self.memberships)


class TeamMember(db.Model):
    """An agent in a team; an agent may be in several."""

    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id"), primary_key=True)
    # "My teams" starts from the agent.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    # Round robin: the member given a ticket longest ago (or never) is next.
    last_assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    team: Mapped[Team] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship()
