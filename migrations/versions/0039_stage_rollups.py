"""stage rollups: the stage dashboard's figures per local day, kept by append-only deltas

Revision ID: 0039_stage_rollups
Revises: 0038_status_words
Create Date: 2026-12-07 11:30:00

Every change to what a ticket counts as inserts delta rows (never updates a shared row, so
concurrent writers never wait on each other); the worker folds them into ``stage_rollups``:
one row per local day, team and assignee packing each stage's, channel's and source's counts
and first-response and resolution seconds, for exact percentiles (see
helpdesk/reports/rollups.py). Existing tickets are counted now.
"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

from helpdesk.reports import rollup_rows

# revision identifiers, used by Alembic.
revision = "0039_stage_rollups"
down_revision = "0038_status_words"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "stage_deltas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sign", sa.SmallInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("stage", sa.String(length=11), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("proactive", sa.Boolean(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("reopened", sa.Boolean(), nullable=False),
        sa.Column("with_target", sa.Boolean(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("first_response_seconds", sa.Integer(), nullable=True),
        sa.Column("resolution_seconds", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_deltas")),
    )
    op.create_table(
        "stage_rollups",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("packed", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id",
            "assignee_id",
            "day",
            name=op.f("pk_stage_rollups"),
        ),
    )
    rollup_rows.rebuild(op.get_bind(), current_app.config["HELPDESK_TIMEZONE"])


def downgrade():
    op.drop_table("stage_rollups")
    op.drop_table("stage_deltas")
