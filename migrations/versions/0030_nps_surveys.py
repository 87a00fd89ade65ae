"""surveys: NPS beside CSAT per journey stage, the stage an answer counts under, follow-ups

Revision ID: 0030_nps_surveys
Revises: 0029_outreach
Create Date: 2026-12-07 03:00:00

A survey is CSAT (1-5) or NPS (0-10), so its one score range becomes one per kind. Existing
surveys are CSAT and count under their ticket's current stage. ``stage_surveys`` names the
question each stage asks; ``survey_policies`` holds the install's follow-up mode and how often
one customer may be asked.

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030_nps_surveys"
down_revision = "0029_outreach"
branch_labels = None
depends_on = None

_STAGES = 11  # the longest stage value ("interaction", "cultivation")


def upgrade():
    # Nothing refers to surveys, so SQLite may rebuild it to change its check constraints.
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(4), server_default="csat", nullable=False))
        batch_op.add_column(sa.Column("stage", sa.String(_STAGES), nullable=True))
        batch_op.add_column(sa.Column("follow_up", sa.String(6), nullable=True))
        batch_op.add_column(sa.Column("follow_up_ticket_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("followed_up_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_surveys_follow_up_ticket_id_tickets"),
            "tickets",
            ["follow_up_ticket_id"],
            ["id"],
        )
        batch_op.create_index(
            batch_op.f("ix_surveys_follow_up_ticket_id"), ["follow_up_ticket_id"], unique=False
        )
        batch_op.drop_constraint(batch_op.f("ck_surveys_score_range"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_surveys_csat_score_range"), "kind <> 'csat' OR score BETWEEN 1 AND 5"
        )
        batch_op.create_check_constraint(
            batch_op.f("ck_surveys_nps_score_range"), "kind <> 'nps' OR score BETWEEN 0 AND 10"
        )
    op.execute(
        "UPDATE surveys SET stage = (SELECT stage FROM tickets WHERE tickets.id = surveys.ticket_id)"
        " WHERE answered_at IS NOT NULL"
    )
    op.create_table(
        "stage_surveys",
        sa.Column("stage", sa.String(_STAGES), nullable=False),
        sa.Column("kind", sa.String(4), nullable=False),
        sa.PrimaryKeyConstraint("stage", name=op.f("pk_stage_surveys")),
    )
    op.create_table(
        "survey_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("follow_up", sa.String(6), nullable=False),
        sa.Column("ask_interval_days", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_policies")),
    )


def downgrade():
    op.drop_table("survey_policies")
    op.drop_table("stage_surveys")
    # The old table holds only 1-5 ratings.
    op.execute("DELETE FROM surveys WHERE kind <> 'csat'")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_surveys_nps_score_range"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_surveys_csat_score_range"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_surveys_score_range"), "score BETWEEN 1 AND 5"
        )
        batch_op.drop_index(batch_op.f("ix_surveys_follow_up_ticket_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_surveys_follow_up_ticket_id_tickets"), type_="foreignkey"
        )
        batch_op.drop_column("followed_up_at")
        batch_op.drop_column("follow_up_ticket_id")
        batch_op.drop_column("follow_up")
        batch_op.drop_column("stage")
        batch_op.drop_column("kind")
