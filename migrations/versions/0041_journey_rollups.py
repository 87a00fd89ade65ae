"""journey rollups: the stage dashboard's journey flow per local day, kept by append-only deltas

Revision ID: 0041_journey_rollups
Revises: 0040_search_terms
Create Date: 2026-12-07 14:20:00

Each request is kept once per chain of the dashboard's filters (team and assignee scope, same
channel or not, same source or not) with the local day and stage of the customer's previous
request in that chain, so the flow of a range reads days, not tickets (see
helpdesk/reports/journey_rollups.py). Existing tickets are counted now. The backlog's index
gains ``proactive``, so the dashboard filtered by source counts the open tickets from the
index alone, as it does for the other filters.
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from helpdesk.reports import journey_rows

# revision identifiers, used by Alembic.
revision = "0041_journey_rollups"
down_revision = "0040_search_terms"
branch_labels = None
depends_on = None

_BACKLOG_COLUMNS = [
    "status",
    "created_at",
    "stage",
    "channel",
    "assignee_id",
    "team_id",
    "spam_at",
    "deleted_at",
]


def upgrade():
    op.create_table(
        "journey_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("stage", sa.String(length=11), nullable=False),
        sa.Column("earlier_stage", sa.String(length=11), nullable=False),
        sa.Column("earlier_day", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_deltas")),
    )
    op.create_table(
        "journey_rollups",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id", "assignee_id", "chain", "day", name=op.f("pk_journey_rollups")
        ),
    )
    journey_rows.rebuild(op.get_bind(), current_app.config["HELPDESK_TIMEZONE"])
    op.drop_index("ix_tickets_backlog", table_name="tickets")
    op.create_index("ix_tickets_backlog", "tickets", [*_BACKLOG_COLUMNS, "proactive"])


def downgrade():
    op.drop_index("ix_tickets_backlog", table_name="tickets")
    op.create_index("ix_tickets_backlog", "tickets", _BACKLOG_COLUMNS)
    op.drop_table("journey_rollups")
    op.drop_table("journey_deltas")
