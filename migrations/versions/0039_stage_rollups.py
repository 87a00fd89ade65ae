"""stage rollups: the stage dashboard's counts per local day, stage, channel, source, team and assignee

Revision ID: 0039_stage_rollups
Revises: 0038_status_words
Create Date: 2026-12-07 08:45:00

"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from helpdesk.reports import rollups

# revision identifiers, used by Alembic.
revision = "0039_stage_rollups"
down_revision = "0038_status_words"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stage_rollups",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=11), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("arrivals", sa.Integer(), nullable=False),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("with_target", sa.Integer(), nullable=False),
        sa.Column("breached", sa.Integer(), nullable=False),
        sa.Column("csat_total", sa.Integer(), nullable=False),
        sa.Column("csat_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id",
            "assignee_id",
            "day",
            "stage",
            "channel",
            "proactive",
            name=op.f("pk_stage_rollups"),
        ),
    )
    # Existing tickets are counted now, in the helpdesk's time zone.
    rollups.rebuild(op.get_bind(), current_app.config["HELPDESK_TIMEZONE"])


def downgrade():
    op.drop_table("stage_rollups")
