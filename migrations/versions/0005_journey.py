"""journey: satisfaction surveys, the index behind per-rule usage counts

Revision ID: 0005_journey
Revises: 0004_sms
Create Date: 2026-11-25 09:20:00

``surveys`` holds the one CSAT question a solved ticket's customer is asked and the answer
(score 1–5, optional comment). The index on ``tickets.intake_rule`` is created without a batch
table copy, so SQLite keeps the word-index trigger that migration 0002 put on ``tickets``.
"""

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0005_journey"
down_revision = "0004_sms"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=5), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name=op.f("ck_surveys_score_range")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["messages.id"], name=op.f("fk_surveys_question_id_messages")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_surveys_ticket_id_tickets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("ticket_id", name=op.f("uq_surveys_ticket_id")),
    )
    op.create_index("ix_surveys_answered_at", "surveys", ["answered_at"], unique=False)
    op.create_index("ix_tickets_intake_rule", "tickets", ["intake_rule"], unique=False)


def downgrade():
    op.drop_index("ix_tickets_intake_rule", table_name="tickets")
    op.drop_index("ix_surveys_answered_at", table_name="surveys")
    op.drop_table("surveys")
